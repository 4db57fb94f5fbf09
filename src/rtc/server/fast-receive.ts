/**
 * The receiving half of the edge's fast path (docs/RTC.md, "Performance"): the session's SRTP
 * receive context decrypts with crypto/srtp-open.ts instead of werift's `decryptRtp`, which
 * parses every packet's header into objects (bit by bit) once more than the RTP parse after it,
 * copies the per-SSRC state and concatenates buffers. Same contract: the header followed by the
 * plaintext, werift's per-SSRC rollover state (`srtpSSRCStates`, `updateRolloverCount`) updated
 * only when the packet authenticates (RFC 3711 §3.3.1), SrtpAuthenticationError when it does not
 * or is malformed (werift drops it; peer-session.ts counts it as bad_tag). RTCP stays werift's.
 *
 * The context is replaced where werift makes it: the DTLS transport's `updateSrtpSession` (DTLS
 * completed) gets an instance wrapper, so every session's receive context, a rekey's too, opens
 * this way. Off with XRELAY_RTC_FAST_FORWARD=0 (fast-forward.ts). werift 0.24.4 internals;
 * test/rtc/fast-forward.test.ts checks them against werift's own contexts.
 */
import { SrtpAuthenticationError, type RTCDtlsTransport } from 'werift';
import { SrtpOpener } from '../crypto/srtp-open.js';
import { srtpProfileOf } from './fast-forward.js';

interface SsrcState {
  ssrc: number;
  rolloverCounter: number;
  lastSequenceNumber: number;
  rolloverHasProcessed?: boolean;
}

/** werift 0.24.4's SrtpContext, the fields the receive side reads. */
export interface SrtpReceiveContext {
  readonly profile: number;
  readonly cipher: { srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag?: Buffer };
  readonly srtpSSRCStates: Record<number, SsrcState | undefined>;
  updateRolloverCount(seq: number, s: SsrcState): void;
  decryptRtp(packet: Buffer): [Buffer, unknown];
}

/** From the next DTLS completion on, `dtls`'s SRTP receive context opens with srtp-open.ts. */
export function openThroughFastPath(dtls: RTCDtlsTransport): void {
  const d = dtls as unknown as { srtp?: { remoteContext: SrtpReceiveContext }; updateSrtpSession(): void };
  const update = d.updateSrtpSession.bind(d);
  d.updateSrtpSession = () => {
    update();
    const ctx = d.srtp?.remoteContext;
    if (ctx !== undefined) leanDecrypt(ctx);
  };
}

/** Replaces `ctx.decryptRtp` (when its profile is one srtp-open.ts knows). */
export function leanDecrypt(ctx: SrtpReceiveContext): void {
  const profile = srtpProfileOf(ctx.profile);
  if (profile === undefined) return;
  const c = ctx.cipher;
  const opener = new SrtpOpener(profile, { key: c.srtpSessionKey, salt: c.srtpSessionSalt, authKey: c.srtpSessionAuthTag });
  const peeked = { ssrc: 0, seq: 0 };
  const result: [Buffer, unknown] = [Buffer.alloc(0), undefined]; // werift's session reads [0] at once
  ctx.decryptRtp = (packet: Buffer): [Buffer, unknown] => {
    if (!opener.peek(packet, peeked)) throw new SrtpAuthenticationError('malformed SRTP packet');
    const existing = ctx.srtpSSRCStates[peeked.ssrc];
    const s: SsrcState = existing ?? { ssrc: peeked.ssrc, rolloverCounter: 0, lastSequenceNumber: 0 };
    const roc = s.rolloverCounter;
    const last = s.lastSequenceNumber;
    const processed = s.rolloverHasProcessed;
    ctx.updateRolloverCount(peeked.seq, s);
    const out = opener.open(packet, s.rolloverCounter);
    if (out === undefined) {
      s.rolloverCounter = roc;
      s.lastSequenceNumber = last;
      s.rolloverHasProcessed = processed;
      throw new SrtpAuthenticationError('SRTP packet did not authenticate');
    }
    if (existing === undefined) ctx.srtpSSRCStates[peeked.ssrc] = s;
    result[0] = out;
    return result;
  };
}

