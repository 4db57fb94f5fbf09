/**
 * End-to-end encryption of a browser RTCPeerConnection's media (browser only): attaches a sealing
 * transform to each sender and an opening transform to each receiver.
 *
 *   'script'          RTCRtpScriptTransform (W3C WebRTC Encoded Transform) with one worker per
 *                     call (e2ee-worker.ts): frames never touch the page's thread. Chromium ≥ 141,
 *                     Firefox, Safari.
 *   'encoded-streams' Chromium's older createEncodedStreams() (needs `encodedInsertableStreams:
 *                     true` in the RTCPeerConnection config, see `peerConfig`), the same steps on
 *                     the page's thread.
 *   'auto'            script where RTCRtpScriptTransform exists, else encoded-streams.
 *
 * Either way a peer connection must have every sender and receiver attached before media flows
 * (with encodedInsertableStreams Chromium holds frames of an unattached one).
 */
import { XrelayClientError } from '../client-error.js';
import { ready } from '../ready.js';
import { E2eeEngine, type RtcE2eReport, type TransformOptions } from './e2ee-engine.js';
import { randomRtcKid } from './frame-keys.js';
import type { RtcMediaKind } from './frame-e2ee.js';
import { e2eTransformStream } from './transform-pipe.js';
import { rtcGlobals, type RtpReceiverLike, type RtpSenderLike, type WorkerLike } from './webrtc-dom.js';
import { checkCallSecret } from '../call/e2e-keys.js';

export type RtcTransformMode = 'script' | 'encoded-streams';

export interface RtcE2eeOptions {
  callSecret: Uint8Array;
  /** Default 'auto'. */
  transform?: RtcTransformMode | 'auto';
  /** The worker script for 'script' (default: e2ee-worker.js beside this module, for bundlers). */
  workerUrl?: string | URL;
}

/** Which transform API this browser offers, preferring RTCRtpScriptTransform. */
export function availableTransformModes(): RtcTransformMode[] {
  const g = rtcGlobals();
  const modes: RtcTransformMode[] = [];
  if (typeof g.RTCRtpScriptTransform === 'function' && typeof g.Worker === 'function') modes.push('script');
  if (g.RTCRtpSender !== undefined && typeof (g.RTCRtpSender.prototype as { createEncodedStreams?: unknown }).createEncodedStreams === 'function') modes.push('encoded-streams');
  return modes;
}

export class RtcE2ee {
  private worker: WorkerLike | undefined;
  private engine: E2eeEngine | undefined;
  private statsN = 0;
  private readonly pending = new Map<number, (r: RtcE2eReport | undefined) => void>();
  private secret: Uint8Array;

  private constructor(
    readonly mode: RtcTransformMode,
    callSecret: Uint8Array,
    workerUrl: string | URL | undefined,
  ) {
    this.secret = callSecret.slice();
    if (mode === 'encoded-streams') {
      this.engine = new E2eeEngine(this.secret);
      return;
    }
    const url = workerUrl ?? new URL('./e2ee-worker.js', import.meta.url);
    const w = new (rtcGlobals().Worker!)(url, { type: 'module', name: 'xrelay-e2ee' });
    w.onmessage = (ev) => {
      const m = ev.data as { type?: string; n?: number; report?: RtcE2eReport };
      if (m.type !== 'stats' || m.n === undefined) return;
      this.pending.get(m.n)?.(m.report);
      this.pending.delete(m.n);
    };
    this.worker = w;
  }

  /** Picks the mode (`unsupported` when the browser has neither API) and loads the crypto library. */
  static async create(opts: RtcE2eeOptions): Promise<RtcE2ee> {
    checkCallSecret(opts.callSecret);
    const modes = availableTransformModes();
    const want = opts.transform ?? 'auto';
    const mode = want === 'auto' ? modes[0] : modes.includes(want) ? want : undefined;
    if (mode === undefined) throw new XrelayClientError('unsupported', `no encoded-transform API for end-to-end encryption here (asked: ${want})`);
    await ready();
    return new RtcE2ee(mode, opts.callSecret, opts.workerUrl);
  }

  /** Extra RTCPeerConnection configuration this mode needs. */
  get peerConfig(): Record<string, unknown> {
    return this.mode === 'encoded-streams' ? { encodedInsertableStreams: true } : {};
  }

  /** Seals what `sender` sends under a fresh random KID; returns the KID. `id` names it in the report. */
  attachSender(sender: RtpSenderLike, kind: RtcMediaKind, id?: string): number {
    const kid = randomRtcKid();
    this.attach(sender, { side: 'send', kind, kid, ...(id === undefined ? {} : { id }) });
    return kid;
  }

  /** Opens what `receiver` receives; `id` names it in the report (the transceiver's mid). */
  attachReceiver(receiver: RtpReceiverLike, kind: RtcMediaKind, id: string): void {
    this.attach(receiver, { side: 'recv', kind, id });
  }

  private attach(target: RtpSenderLike | RtpReceiverLike, o: TransformOptions): void {
    if (this.mode === 'script') {
      target.transform = new (rtcGlobals().RTCRtpScriptTransform!)(this.worker!, { ...o, secret: this.secret });
      return;
    }
    const { readable, writable } = target.createEncodedStreams!();
    readable.pipeThrough(e2eTransformStream(this.engine!.step(o))).pipeTo(writable).catch(() => undefined);
  }

  /** New call secret for every sender (new KIDs) and receiver (the previous one still opens). */
  rekey(callSecret: Uint8Array): void {
    checkCallSecret(callSecret);
    this.secret = callSecret.slice();
    if (this.engine) this.engine.rekey(this.secret);
    else this.worker!.postMessage({ type: 'rekey', secret: this.secret });
  }

  /** The counters of every transform of this call (from the worker in 'script' mode). */
  async report(): Promise<RtcE2eReport | undefined> {
    if (this.engine) return this.engine.report();
    const n = ++this.statsN;
    return new Promise((resolve) => {
      this.pending.set(n, resolve);
      this.worker!.postMessage({ type: 'stats', n });
      setTimeout(() => {
        if (this.pending.delete(n)) resolve(undefined);
      }, 2000);
    });
  }

  close(): void {
    this.worker?.terminate();
    for (const r of this.pending.values()) r(undefined);
    this.pending.clear();
  }
}
