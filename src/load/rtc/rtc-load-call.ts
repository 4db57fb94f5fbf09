/**
 * A WebRTC participant of the load kit: one werift peer (edge-client.ts) that joins a room through
 * the edge's HTTP route (`POST /v1/rtc/rooms/{room}`, the contract's offer layout: sendonly audio,
 * K recvonly audio slots, one data channel; docs/RTC.md) and seals every audio frame end to end
 * the way the browser SDK does (src/client/rtc/frame-e2ee.ts: an SFrame record padded to one size,
 * SEALED_AUDIO_BYTES on the wire whoever speaks; a random RTC KID; keys from the call secret).
 *
 * It has the surface of a `CallClient` the kit uses (send, capacity, stats, leave, close), so the
 * runner drives cell and WebRTC participants alike. What the relay is, it never learns: the kit's
 * frame (send time, sequence, sender id) is inside the seal.
 *
 * Observed participants go through a `UdpTap` exactly like cell clients: the answer's host
 * candidate is rewritten to the tap's front port (the relay is ICE-lite and answers where the
 * checks come from), so the tap sees every datagram of the session (STUN, DTLS, SRTP, SRTCP, SCTP).
 */
import { emptyCallStats, type CallStats } from '../../client/call/call-types.js';
import { CallKeys, roomIdOf } from '../../client/call/e2e-keys.js';
import type { E2ePaddingStatus } from '../../client/call/e2e-padding-gate.js';
import { FrameOpener, FrameSealer } from '../../client/rtc/frame-e2ee.js';
import { randomRtcKid } from '../../client/rtc/frame-keys.js';
import { AUDIO_PAD_BYTES } from '../../client/rtc/frame-policy.js';
import { ready } from '../../client/ready.js';
import { encodeBase64url } from '../../wire/b64url.js';
import type { UdpTap } from '../leak/tap.js';
import { EdgeClient } from './edge-client.js';

export interface RtcJoinOptions {
  /** The relay's base URL (http://127.0.0.1:port). */
  relay: string;
  callSecret: Uint8Array;
  /** The edge's room profile (audio, audio-room). */
  profile: string;
  /** Receive slots to offer: room size - 1 (capped by the relay's `rtc.receiveSlots`). */
  slots: number;
  /** Route the session through this tap (started; it is pointed at the relay's candidate). */
  tap?: UdpTap;
  /** Every frame that opened, and the size of the RTP payload it came in (what the relay forwarded). */
  onFrame: (frame: Uint8Array, payloadBytes: number) => void;
  /** ICE + DTLS must complete within this (default 10 s). */
  connectTimeoutMs?: number;
}

/** Leaving and closing never hold a run up longer than this. */
const CLOSE_MS = 5000;

const CANDIDATE = / (\d+\.\d+\.\d+\.\d+) (\d+) typ host/;

/** The answer's host candidate, pointed at the tap's front port (the tap forwards to the relay's). */
export function viaTap(sdp: string, tap: UdpTap, front: { host: string; port: number }): string {
  return sdp.replace(CANDIDATE, (_m, host: string, port: string) => {
    tap.retarget({ host, port: Number(port) });
    return ` ${front.host} ${front.port} typ host`;
  });
}

export class RtcLoadCall {
  /** No media-core session: the edge keeps its own table. */
  readonly session = 0;
  /** Largest frame sealed whole: the browser SDK's audio pad (frames above it would be dropped, counted as oversize). */
  readonly capacity = AUDIO_PAD_BYTES;
  /** One uplink packet per 20 ms Opus frame (DTX off). */
  readonly profile = { tickMs: 20 };
  /** The CallClient counters that apply: packetsSent, packetsReceived (opened), e2eRejected, sendQueueDrops (oversize). */
  readonly stats: CallStats = emptyCallStats();
  /** WebRTC audio needs no dummies: every frame is sent (DTX off) and sealed to one size. */
  readonly e2ePaddingStatus: E2ePaddingStatus = { requested: false, active: false, reason: 'not_requested', members: 0, capacity: 0 };
  private location = '';
  private closed = false;

  private constructor(
    readonly client: EdgeClient,
    private readonly sealer: FrameSealer,
    private readonly base: string,
  ) {}

  static async join(opts: RtcJoinOptions): Promise<RtcLoadCall> {
    await ready();
    const keys = new CallKeys(opts.callSecret);
    const opener = new FrameOpener('audio', () => keys);
    const client = new EdgeClient(opts.slots);
    client.keepPackets = false;
    const call = new RtcLoadCall(client, new FrameSealer(keys, randomRtcKid(), 'audio'), opts.relay);
    client.onRtp = (_mid, rtp) => {
      const frame = opener.open(rtp.payload);
      if (frame === undefined) {
        call.stats.e2eRejected++;
        return;
      }
      call.stats.packetsReceived++;
      opts.onFrame(frame, rtp.payload.length);
    };
    try {
      const front = opts.tap === undefined ? undefined : await opts.tap.start();
      const shape = front === undefined ? undefined : (sdp: string): string => viaTap(sdp, opts.tap!, front);
      const room = encodeBase64url(roomIdOf(opts.callSecret));
      // Bounded: werift's ICE gathering and the POST have no timeout of their own.
      const res = await withTimeout(client.join(opts.relay, room, opts.profile, undefined, shape), opts.connectTimeoutMs ?? 10_000, 'join_timeout');
      if (res.status !== 201) throw Object.assign(new Error(`rtc join answered ${res.status}`), { code: codeOf(res.body) ?? `http_${res.status}` });
      call.location = client.location;
      await withTimeout(client.connected(), opts.connectTimeoutMs ?? 10_000, 'connect_timeout');
      return call;
    } catch (err) {
      await withTimeout(client.close(), CLOSE_MS, 'close_timeout').catch(() => undefined);
      throw err;
    }
  }

  /** Seals one frame (padded to the one audio size) and sends it as one RTP packet. */
  send(frame: Uint8Array): void {
    if (this.closed) return;
    const sealed = this.sealer.seal(frame);
    if (sealed === undefined) {
      this.stats.sendQueueDrops++;
      return;
    }
    this.client.sendAudio(Buffer.from(sealed.buffer, sealed.byteOffset, sealed.length));
    this.stats.packetsSent++;
  }

  /** Leaves the room (`DELETE` of the session's Location), then closes the peer. */
  async leave(): Promise<void> {
    if (this.closed) return;
    if (this.location !== '') await fetch(new URL(this.location, this.client.relay !== '' ? this.client.relay : this.base), { method: 'DELETE', signal: AbortSignal.timeout(CLOSE_MS) }).catch(() => undefined);
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await withTimeout(this.client.close(), CLOSE_MS, 'close_timeout').catch(() => undefined);
  }
}

function codeOf(body: string): string | undefined {
  try {
    const code = (JSON.parse(body) as { error?: { code?: unknown } }).error?.code; // RelayError.toJSON
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, code: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(Object.assign(new Error(code), { code })), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(t);
        reject(err as Error);
      },
    );
  });
}
