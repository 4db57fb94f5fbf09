/**
 * The end-to-end state of one call's frames, wherever the transforms run (a worker for
 * RTCRtpScriptTransform, the page for createEncodedStreams): the call keys (current and, after a
 * rekey, previous), one FrameSealer per sending track and one FrameOpener per receiving track,
 * and their counters summed per direction and kind. Portable.
 */
import { CallKeys } from '../call/e2e-keys.js';
import { randomRtcKid } from './frame-keys.js';
import { addRtcE2eStats, emptyRtcE2eStats, FrameOpener, FrameSealer, type RtcE2eStats, type RtcMediaKind } from './frame-e2ee.js';

/** Counters of a call's end-to-end layer: per direction and kind, and per receiving track id. */
export interface RtcE2eReport {
  send: Record<RtcMediaKind, RtcE2eStats>;
  recv: Record<RtcMediaKind, RtcE2eStats>;
  /** Per receiving track (the id given at attach time: the transceiver's mid). */
  byReceiver: Record<string, RtcE2eStats>;
  /** Per sending track (the id given at attach time). */
  bySender: Record<string, RtcE2eStats>;
}

export interface TransformOptions {
  side: 'send' | 'recv';
  kind: RtcMediaKind;
  /** Sender KID (send side). */
  kid?: number;
  /** Track id for the report. */
  id?: string;
}

export class E2eeEngine {
  private keys: CallKeys;
  private previous: CallKeys | undefined;
  private readonly sealers = new Map<string, FrameSealer>();
  private readonly openers = new Map<string, FrameOpener>();

  constructor(callSecret: Uint8Array) {
    this.keys = new CallKeys(callSecret);
  }

  /** Switches to a new call secret; frames under the previous one still open. */
  rekey(callSecret: Uint8Array): void {
    this.previous = this.keys;
    this.keys = new CallKeys(callSecret);
    for (const s of this.sealers.values()) s.rekey(this.keys, randomRtcKid());
  }

  /** The sealer or opener for a transform described by `o`. */
  step(o: TransformOptions): FrameSealer | FrameOpener {
    if (o.side === 'send') {
      const s = new FrameSealer(this.keys, o.kid!, o.kind);
      this.sealers.set(o.id ?? `${o.kind}-${this.sealers.size}`, s);
      return s;
    }
    const op = new FrameOpener(o.kind, () => this.keys, () => this.previous);
    this.openers.set(o.id ?? `${o.kind}-${this.openers.size}`, op);
    return op;
  }

  report(): RtcE2eReport {
    const r: RtcE2eReport = { send: { audio: emptyRtcE2eStats(), video: emptyRtcE2eStats() }, recv: { audio: emptyRtcE2eStats(), video: emptyRtcE2eStats() }, byReceiver: {}, bySender: {} };
    for (const [id, s] of this.sealers) {
      addRtcE2eStats(r.send[s.kind], s.stats);
      r.bySender[id] = { ...s.stats };
    }
    for (const [id, o] of this.openers) {
      addRtcE2eStats(r.recv[o.kind], o.stats);
      r.byReceiver[id] = { ...o.stats };
    }
    return r;
  }
}
