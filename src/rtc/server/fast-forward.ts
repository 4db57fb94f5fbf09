/**
 * The edge's send path for forwarded and padding packets (docs/RTC.md, "Performance"): what
 * werift's `RTCRtpSender.sendRtp` + `RTCDtlsTransport.sendRtp` do per packet, without their
 * per-packet objects: the slot's header is written from a template (codec/rtp-writer.ts) into the
 * one buffer that goes on the wire, sealed there (crypto/srtp-seal.ts, the DTLS transport's SRTP
 * keys), and handed to the ICE connection werift would have used. What receivers rely on is kept,
 * in werift's own fields of the slot's sender, so its RTCP and NACK code go on working unchanged:
 *
 *  - numbering: werift's `seqOffset`/`timestampOffset` (set by `replaceRTP`, core/cell-rtp.ts's
 *    `switchAnchor`) and the last `sequenceNumber`/`timestamp` it reads on the next switch;
 *  - sender reports: `packetCount`, `octetCount` (payload without padding, RFC 3550 §6.4.1),
 *    `rtpTimestamp` and `ntpTimestamp` (an accessor: the NTP time is made when an SR reads it, not
 *    per packet; RFC 3550 §4 format, where werift 0.24.4 writes the decimal digits of the
 *    fraction), and its RTCP loop is started as werift starts it;
 *  - NACK answers: `rtpCache`, werift's 128-packet history, filled from a per-slot ring of
 *    packet objects reused in place (werift's NACK handler re-sends them through its own path);
 *  - SRTP state: the rollover counter in the sending context's per-SSRC state, which werift's own
 *    sends (NACK answers) share;
 *  - transport counters: the DTLS transport's `bytesSent`/`packetsSent`.
 * Left out: werift's sender-side bandwidth estimator (it consumes transport-wide-cc feedback, which
 * the edge never negotiates) and the per-packet `ntpTime()`.
 *
 * A slot takes this path when its negotiation fits (extensions: MID and abs-send-time only, no RED,
 * an SRTP profile the sealer knows); a packet when the transport is connected and keyed. Otherwise
 * `send` answers false and the caller goes through werift (`sendThroughWerift`).
 * XRELAY_RTC_FAST_FORWARD=0 turns the path off for sessions opened after it is set.
 * Internals read here are werift 0.24.4's (package.json pins it; test/rtc/fast-forward.test.ts
 * checks the path against werift's own serializer, SRTP contexts and NACK handler).
 */
import { RtpHeader, RtpPacket, type RTCDtlsTransport, type RTCRtpSender } from 'werift';
import { absSendTime24, ntpTimestamp64, rtpHeaderTemplate, writeRtpHeader, type RtpHeaderTemplate } from '../codec/rtp-writer.js';
import { SrtpSealer, type SrtpSealProfile } from '../crypto/srtp-seal.js';

const URI_MID = 'urn:ietf:params:rtp-hdrext:sdes:mid';
const URI_ABS_SEND_TIME = 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time';
/** werift's history size (RTP_HISTORY_SIZE) and SRTP profile numbers (RFC 5764 §4.1.2, RFC 7714 §14.2). */
const HISTORY = 128;
const PROFILES = new Map<number, SrtpSealProfile>([
  [0x0007, 'aes128gcm'],
  [0x0001, 'aes128cm-sha1-80'],
]);
const MAX_HEADER = 12 + 4 + 20;

/** The werift sender fields this path keeps (werift 0.24.4, RTCRtpSender). */
interface SenderState {
  readonly ssrc: number;
  readonly codec?: { payloadType: number };
  readonly mid?: string;
  readonly headerExtensions: readonly { uri: string; id: number }[];
  readonly redRedundantPayloadType?: number;
  seqOffset: number;
  timestampOffset: number;
  sequenceNumber?: number;
  timestamp?: number;
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  octetCount: number;
  packetCount: number;
  headerBytesSent: number;
  rtpCache: unknown[];
  rtcpRunning: boolean;
  runRtcp(): Promise<void>;
}

interface SrtpContextState {
  readonly profile: number;
  readonly cipher: { srtpSessionKey: Buffer; srtpSessionSalt: Buffer; srtpSessionAuthTag?: Buffer };
  getSrtpSsrcState(ssrc: number): { rolloverCounter: number };
  updateRolloverCount(seq: number, s: { rolloverCounter: number }): void;
}

interface DtlsState {
  readonly state: string;
  readonly srtp?: { localContext: SrtpContextState };
  bytesSent: number;
  packetsSent: number;
  readonly iceTransport: { connection: { send(data: Buffer): Promise<void> } };
}

/** The sealer's name for werift's SRTP profile number; undefined for one this path does not know. */
export function srtpProfileOf(profile: number): SrtpSealProfile | undefined {
  return PROFILES.get(profile);
}

export function fastForwardEnabled(): boolean {
  return process.env['XRELAY_RTC_FAST_FORWARD'] !== '0';
}

/** One per session (the bundle's DTLS transport): the sealer of its current SRTP keys. */
export class FastSender {
  private readonly dtls: DtlsState;
  private keyedBy: SrtpContextState | undefined;
  private sealer: SrtpSealer | undefined;
  /** Packets sent through this path (tests). */
  sent = 0;

  constructor(dtls: RTCDtlsTransport) {
    this.dtls = dtls as unknown as DtlsState;
  }

  /** The slot's fast path, or undefined when its negotiation does not fit (it keeps werift's). */
  slot(sender: RTCRtpSender): FastSlot | undefined {
    const s = sender as unknown as SenderState;
    if (s.redRedundantPayloadType !== undefined) return undefined;
    let midId = 0;
    let absSendTimeId = 0;
    for (const e of s.headerExtensions) {
      if (e.uri === URI_MID && s.mid !== undefined) midId = e.id;
      else if (e.uri === URI_ABS_SEND_TIME) absSendTimeId = e.id;
      else if (e.uri !== URI_MID) return undefined; // werift would write it: keep werift's path
    }
    const tpl = rtpHeaderTemplate(s.ssrc, { midId, mid: s.mid ?? '', absSendTimeId });
    return tpl === undefined ? undefined : new FastSlot(this, s, tpl);
  }

  /** The context to seal with, or undefined while the transport is not connected and keyed. */
  context(): SrtpContextState | undefined {
    const d = this.dtls;
    if (d.state !== 'connected') return undefined;
    const ctx = d.srtp?.localContext;
    if (ctx === undefined) return undefined;
    if (ctx !== this.keyedBy) {
      const profile = srtpProfileOf(ctx.profile);
      const c = ctx.cipher;
      this.sealer = profile === undefined ? undefined : new SrtpSealer(profile, { key: c.srtpSessionKey, salt: c.srtpSessionSalt, authKey: c.srtpSessionAuthTag });
      this.keyedBy = ctx;
    }
    return this.sealer === undefined ? undefined : ctx;
  }

  seal(out: Buffer, hdrLen: number, bodyLen: number, ssrc: number, seq: number, roc: number): number {
    return this.sealer!.seal(out, hdrLen, bodyLen, ssrc, seq, roc);
  }

  transmit(packet: Buffer): void {
    const d = this.dtls;
    d.bytesSent += packet.length;
    d.packetsSent++;
    this.sent++;
    d.iceTransport.connection.send(packet).catch(ignore); // a send on a closing transport
  }

  get overhead(): number {
    return this.sealer?.overhead ?? 16;
  }
}

/**
 * One entry of a slot's NACK history, reused every 128 packets: werift's handler reads `header`
 * and `payload` (the payload with its padding is rebuilt only when a NACK asks for it).
 */
class HistoryEntry {
  readonly header: RtpHeader;
  body: Buffer = EMPTY;
  pad = 0;
  private readonly abs = Buffer.alloc(3);

  constructor(ext: { id: number; payload: Buffer }[]) {
    this.header = new RtpHeader({});
    this.header.extensions = ext.map((e) => (e.payload.length === 3 && e.payload === ABS_MARK ? { id: e.id, payload: this.abs } : e));
  }

  get payload(): Buffer {
    return this.pad === 0 ? this.body : withPadding(this.body, this.pad);
  }

  set(ssrc: number, pt: number, marker: boolean, seq: number, ts: number, body: Buffer, pad: number, abs: number): void {
    const h = this.header;
    h.ssrc = ssrc;
    h.payloadType = pt;
    h.marker = marker;
    h.sequenceNumber = seq;
    h.timestamp = ts;
    h.padding = pad > 0;
    h.paddingSize = pad;
    this.abs[0] = (abs >>> 16) & 0xff;
    this.abs[1] = (abs >>> 8) & 0xff;
    this.abs[2] = abs & 0xff;
    this.body = body;
    this.pad = pad;
  }
}

const EMPTY = Buffer.alloc(0);
/** Stands for the per-entry abs-send-time buffer in the extension list a ring is made from. */
const ABS_MARK = Buffer.alloc(3);

export class FastSlot {
  private readonly ring: HistoryEntry[] = [];
  private lastSendMs = -1;
  private ntpSet = 0n;

  constructor(
    private readonly owner: FastSender,
    private readonly sender: SenderState,
    private readonly tpl: RtpHeaderTemplate,
  ) {
    const ext: { id: number; payload: Buffer }[] = [];
    for (const e of sender.headerExtensions) {
      if (e.uri === URI_MID && sender.mid !== undefined) ext.push({ id: e.id, payload: Buffer.from(sender.mid, 'ascii') });
      else if (e.uri === URI_ABS_SEND_TIME) ext.push({ id: e.id, payload: ABS_MARK });
    }
    ext.sort((a, b) => a.id - b.id);
    for (let i = 0; i < HISTORY; i++) this.ring.push(new HistoryEntry(ext));
    // The SR's NTP time, made when werift's RTCP loop reads it (once per report, not per packet).
    Object.defineProperty(sender, 'ntpTimestamp', {
      configurable: true,
      enumerable: true,
      get: () => (this.lastSendMs < 0 ? this.ntpSet : ntpTimestamp64(this.lastSendMs)),
      set: (v: bigint) => {
        this.ntpSet = v;
        this.lastSendMs = -1;
      },
    });
  }

  /**
   * Sends `payload` with `pad` bytes of RTP padding (RFC 3550 §5.1) as the slot's next packet:
   * `seq`/`ts` are the forwarded numbers before werift's offsets (as `sendRtp` takes them).
   * False when the transport is not ready for this path (the caller goes through werift).
   */
  send(marker: boolean, seq: number, ts: number, payload: Buffer, pad: number): boolean {
    const s = this.sender;
    const codec = s.codec;
    const ctx = this.owner.context();
    if (ctx === undefined || codec === undefined) return false;
    const outSeq = (seq + s.seqOffset) & 0xffff;
    const outTs = (ts + s.timestampOffset) >>> 0;
    const nowMs = performance.timeOrigin + performance.now();
    const abs = absSendTime24(nowMs);
    const bodyLen = payload.length + pad;
    const out = Buffer.allocUnsafe(MAX_HEADER + bodyLen + this.owner.overhead);
    const hdrLen = writeRtpHeader(out, this.tpl, marker, codec.payloadType, outSeq, outTs, pad > 0, abs);
    payload.copy(out, hdrLen);
    if (pad > 0) {
      out.fill(0, hdrLen + payload.length, hdrLen + bodyLen - 1);
      out[hdrLen + bodyLen - 1] = pad;
    }
    const state = ctx.getSrtpSsrcState(s.ssrc);
    ctx.updateRolloverCount(outSeq, state);
    const len = this.owner.seal(out, hdrLen, bodyLen, s.ssrc, outSeq, state.rolloverCounter);
    // werift's sender state, as sendRtp leaves it.
    s.sequenceNumber = outSeq;
    s.timestamp = outTs;
    s.rtpTimestamp = outTs;
    this.lastSendMs = nowMs;
    s.octetCount += payload.length;
    s.headerBytesSent += hdrLen;
    s.packetCount = (s.packetCount + 1) >>> 0;
    const entry = this.ring[outSeq % HISTORY]!;
    entry.set(s.ssrc, codec.payloadType, marker, outSeq, outTs, payload, pad, abs);
    s.rtpCache[outSeq % HISTORY] = entry;
    this.owner.transmit(out.subarray(0, len));
    if (!s.rtcpRunning) void s.runRtcp();
    return true;
  }
}

/** Padding-only payloads by size, shared (werift only reads them): RFC 3550 §5.1, the last octet counts the padding. */
const PAD_ONLY = new Map<number, Buffer>();

/** `body` followed by `pad` bytes of RTP padding (RFC 3550 §5.1: the last octet is the count). */
function withPadding(body: Buffer, pad: number): Buffer {
  if (body.length === 0) {
    let b = PAD_ONLY.get(pad);
    if (b === undefined) {
      b = Buffer.alloc(pad);
      b[pad - 1] = pad;
      PAD_ONLY.set(pad, b);
    }
    return b;
  }
  const out = Buffer.alloc(body.length + pad);
  body.copy(out, 0);
  out[out.length - 1] = pad;
  return out;
}

/**
 * werift's own send path (a slot or packet the fast path does not take): the header gets the
 * slot's SSRC, payload type, offsets and extensions from `sendRtp`; padding travels at the end of
 * the payload buffer (werift's SRTP encrypts the header it is given and the buffer as the payload,
 * RFC 3711 §3.1) with the P bit set.
 */
export function sendThroughWerift(sender: RTCRtpSender, pt: number, marker: boolean, seq: number, ts: number, payload: Buffer, pad: number): void {
  const header = new RtpHeader({ payloadType: pt, marker, sequenceNumber: seq, timestamp: ts, ssrc: 0, padding: pad > 0, paddingSize: pad });
  sender.sendRtp(new RtpPacket(header, pad > 0 ? withPadding(payload, pad) : payload)).catch(ignore);
}

/** One shared no-op for rejected sends (no closure per packet). */
function ignore(): void {}
