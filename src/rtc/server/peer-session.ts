/**
 * One WebRTC session of the edge: a werift RTCPeerConnection in ICE-lite, answering the client's
 * offer (DTLS-SRTP, BUNDLE, rtcp-mux, one SCTP data channel), with hooks for the plane:
 * uplink RTP out, key-frame requests out, roster in. The packet path is here and in rtc-plane.ts
 * only, behind `forward` and the hooks, so a native SRTP path can take it over later.
 *
 * What werift does for us (docs/RTC.md): ICE (lite), DTLS, SRTP; per-hop RTCP (receiver reports,
 * sender reports); NACKs to the uplink for packets it lost, and answers to the receiver's NACKs from
 * each sender's 128-packet history; sequence/timestamp/SSRC/payload-type rewriting per slot
 * (`RTCRtpSender.sendRtp`). What the edge adds: REMB to video uplinks (`sendRemb`), key-frame
 * requests (`requestKeyframe`), the roster channel, downlink padding of audio slots (`pace`,
 * `sendPadding`; the decisions are core/downlink-pacer.ts's). Forwarded and padding packets leave
 * through fast-forward.ts (header template, SRTP seal, ICE send) with werift's sender state kept,
 * werift's `sendRtp` when a slot or packet does not fit it.
 */
import { randomBytes } from 'node:crypto';
import {
  RTCPeerConnection,
  RTCRtpCodecParameters,
  ReceiverEstimatedMaxBitrate,
  RtcpPayloadSpecificFeedback,
  type RtpPacket,
  useAbsSendTime,
  useFIR,
  useNACK,
  usePLI,
  useREMB,
  useSdesMid,
  type RTCDataChannel,
  type RTCRtpTransceiver,
  type RtcpPacket,
} from 'werift';
import { stripForbiddenExtensions } from '../codec/header-extensions.js';
import { rembExponent } from '../codec/remb.js';
import { isKeyframeRequest } from '../codec/rtp-header.js';
import { PacedSlot, type DownlinkPacer, type SlotStamp } from '../core/downlink-pacer.js';
import { switchAnchor } from '../core/cell-rtp.js';
import { ReplayGuard } from '../core/replay-guard.js';
import type { TrackKind } from '../core/rtc-router.js';
import { MuxSeat } from './mux-seat.js';
import type { RtcUdpMux } from './udp-mux.js';
import { countTransportDrops } from './transport-drops.js';
import { FastSender, fastForwardEnabled, sendThroughWerift, type FastSlot } from './fast-forward.js';
import { openThroughFastPath } from './fast-receive.js';

export const ROSTER_LABEL = 'xrelay';

export interface PeerOptions {
  /** Address werift's throwaway gathering socket binds to (mux-seat.ts): the mux's. */
  readonly bindHost: string;
  /** The IPv4 address of the one host candidate in the answer. */
  readonly advertisedHost: string;
  /** The edge's one UDP port: every session's ICE, DTLS and SRTP go through it. */
  readonly mux: RtcUdpMux;
  readonly video: boolean;
}

export interface PeerHooks {
  /** An RTP packet of this member's uplink (already SRTP-decrypted by werift). */
  onUplink(kind: TrackKind, rtp: RtpPacket): void;
  /** The client asked for a key frame on receive slot `mid`. */
  onKeyframeRequest(mid: string): void;
  /** ICE and DTLS completed. */
  onConnected(): void;
  /** The transport failed or closed (not called after `close()`). */
  onFailed(): void;
  /** The roster channel opened: the plane sends the current roster. */
  onRosterOpen(): void;
  /** A message from the client on the roster channel (ignored, counted). */
  onClientMessage(): void;
  /** An authenticated uplink packet whose index was seen before (a replay) or is too old: dropped. */
  onReplay(): void;
  /** An SRTP or SRTCP packet that did not authenticate (a bad tag: forged or corrupted): dropped by werift. */
  onBadTag(): void;
  /** A DTLS record that framed well but did not decrypt or authenticate: dropped by werift. */
  onBadRecord(): void;
}

/** Why werift refused to answer (negotiation failed): the route answers `bad_sdp`. */
export class NegotiationError extends Error {
  override readonly name = 'NegotiationError';
}

/** werift could not bind its throwaway gathering socket (no ephemeral port): the route answers `too_many_sessions`. */
export class NoPortError extends Error {
  override readonly name = 'NoPortError';
}

interface SlotSender {
  readonly transceiver: RTCRtpTransceiver;
  /** SSRC of the uplink currently forwarded into this slot; a change is a source switch. */
  source: number;
  /** A padded audio slot (downlink pacer): numbered by the pacer, werift's offsets stay 0. */
  paced: PacedSlot | undefined;
  /** The slot's send path past werift's per-packet objects (fast-forward.ts); undefined: werift's. */
  readonly fast: FastSlot | undefined;
}

/** What the plane's pacer callback needs to pad a slot. */
export interface PadRef {
  readonly peer: PeerSession;
  readonly mid: string;
}

/** One stamp for every paced send (the hot path allocates no result object). */
const STAMP: SlotStamp = { seq: 0, ts: 0, pad: 0 };
const EMPTY = Buffer.alloc(0);

/**
 * Feedback the edge would like. werift answers with the offer's own `a=rtcp-fb` lines for the codec
 * it picks, so these matter for what werift itself does, not for the answer's text. Bandwidth
 * estimation: the edge does not negotiate the transport-wide sequence extension, because werift
 * 0.24.4's receive-side TWCC sends feedback only now and then (measured in Chromium: the uplink's
 * estimate sat at its 300 kbit/s start, one fell to a 39 kbit/s target). The edge sends REMB itself
 * (`sendRemb`, rtc.videoMaxKbps) and browsers run their REMB + loss-based estimator (measured: the
 * available bitrate reaches the REMB value, the encoder its own cap). docs/RTC.md, "Bandwidth".
 */
const AUDIO_FEEDBACK = () => [useNACK()];
const VIDEO_FEEDBACK = () => [useNACK(), usePLI(), useFIR(), useREMB()];

export class PeerSession {
  private readonly slots = new Map<string, SlotSender>();
  private uplinkVideoSsrc = 0;
  private channel: RTCDataChannel | undefined;
  private closed = false;
  private pacer: DownlinkPacer | undefined;
  /** The fast send path of this session's slots (fast-forward.ts); undefined when switched off. */
  private fast: FastSender | undefined;
  lastUplinkMs = 0;
  connected = false;

  private constructor(
    private readonly pc: RTCPeerConnection,
    readonly answer: string,
    private readonly seat: MuxSeat,
  ) {}

  /** Answers `offer` (already checked by the codec policy); NegotiationError if werift cannot. */
  static async open(offer: string, opts: PeerOptions, hooks: PeerHooks): Promise<PeerSession> {
    const pc = new RTCPeerConnection({
      iceLite: true,
      // One host candidate, on the advertised address: werift would otherwise add one per interface.
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: [opts.advertisedHost],
      // werift binds a socket at gathering time anyway: an ephemeral one, closed once the mux takes over (mux-seat.ts).
      iceInterfaceAddresses: { udp4: opts.bindHost },
      bundlePolicy: 'max-bundle',
      codecs: {
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, rtcpFeedback: AUDIO_FEEDBACK() })],
        video: opts.video ? [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, rtcpFeedback: VIDEO_FEEDBACK() })] : [],
      },
      // Only what forwarding needs (codec/header-extensions.ts), minus TWCC (see above); werift negotiates nothing else.
      headerExtensions: { audio: [useSdesMid(), useAbsSendTime()], video: [useSdesMid(), useAbsSendTime()] },
    });
    const seat = MuxSeat.take(opts.mux);
    try {
      try {
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      } catch (err) {
        throw new NegotiationError(err instanceof Error ? err.message : String(err));
      }
      seat.credentials(pc);
      const transceivers = pc.getTransceivers();
      const uplinks = opts.video ? 2 : 1;
      const slotTransceivers = transceivers.slice(uplinks);
      for (const t of slotTransceivers) t.setDirection('sendonly');
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await gathered(pc);
      const sdp = pc.localDescription!.sdp;
      // werift could not bind its gathering socket: no candidate, nothing could ever connect.
      if (!sdp.includes('\r\na=candidate:')) throw new NoPortError('werift could not bind its gathering socket');
      const port = await seat.adopt(pc);
      const session = new PeerSession(pc, shapeAnswer(sdp, port), seat);
      session.wire(transceivers.slice(0, uplinks), slotTransceivers, hooks);
      return session;
    } catch (err) {
      seat.release();
      await pc.close().catch(() => undefined);
      throw err;
    }
  }

  private wire(uplinks: RTCRtpTransceiver[], slots: RTCRtpTransceiver[], hooks: PeerHooks): void {
    for (const t of uplinks) {
      const kind = t.kind as TrackKind;
      const guard = new ReplayGuard();
      t.receiver.track.onReceiveRtp.subscribe((rtp) => {
        if (!guard.accept(rtp.header.ssrc, rtp.header.sequenceNumber)) return hooks.onReplay();
        this.lastUplinkMs = Date.now();
        if (kind === 'video') this.uplinkVideoSsrc = rtp.header.ssrc;
        hooks.onUplink(kind, rtp);
      });
    }
    // Key-frame requests are read off the bundle's transport, not the slot senders' own RTCP events:
    // werift routes a PSFB by its sender SSRC first, which a client may reuse for an m-line of its
    // own, so the request could land on a receiver. The media SSRC (PLI) or the FIR entries' SSRCs
    // (RFC 5104 §4.3.1.1) name our slot sender; its mid is the slot.
    const midBySsrc = new Map<number, string>();
    const dtls = uplinks[0]?.receiver.dtlsTransport;
    this.fast = dtls !== undefined && fastForwardEnabled() ? new FastSender(dtls) : undefined;
    if (this.fast !== undefined) openThroughFastPath(dtls!);
    for (const t of slots) {
      const mid = t.mid ?? '';
      this.slots.set(mid, { transceiver: t, source: -1, paced: undefined, fast: this.fast?.slot(t.sender) });
      midBySsrc.set(t.sender.ssrc, mid);
    }
    if (dtls !== undefined) countTransportDrops(dtls, hooks);
    dtls?.onRtcp.subscribe((packet: RtcpPacket) => {
      const fb = (packet as { feedback?: { count?: number; mediaSsrc?: number; fir?: { ssrc: number }[] } }).feedback;
      const kind = fb === undefined ? undefined : isKeyframeRequest(packet.type, fb.count ?? -1);
      if (kind === 'pli') {
        const mid = midBySsrc.get(fb!.mediaSsrc ?? -1);
        if (mid !== undefined) hooks.onKeyframeRequest(mid);
      } else if (kind === 'fir') {
        for (const entry of fb!.fir ?? []) {
          const mid = midBySsrc.get(entry.ssrc);
          if (mid !== undefined) hooks.onKeyframeRequest(mid);
        }
      }
    });
    this.pc.connectionStateChange.subscribe((state) => {
      if (this.closed) return;
      if (state === 'connected' && !this.connected) {
        this.connected = true;
        this.lastUplinkMs = Date.now();
        hooks.onConnected();
        this.openChannel(hooks);
      } else if (state === 'failed' || state === 'closed') {
        hooks.onFailed();
      }
    });
  }

  private openChannel(hooks: PeerHooks): void {
    const dc = this.pc.createDataChannel(ROSTER_LABEL);
    this.channel = dc;
    dc.stateChanged.subscribe((s) => {
      if (s === 'open') hooks.onRosterOpen();
    });
    dc.onMessage.subscribe(() => hooks.onClientMessage());
  }

  /**
   * Sends `rtp` (from another member's uplink, SSRC `source`) on receive slot `mid`. The payload is
   * passed on untouched; the header gets this slot's SSRC, payload type, sequence and timestamp
   * (werift; on a paced audio slot, the pacer's numbering, and RTP padding up to rtc.audioPadBytes),
   * and only the extensions this hop negotiated (the uplink's are not copied).
   * False when the slot or the transport is not there (counted by the caller).
   */
  forward(mid: string, rtp: RtpPacket, source: number, nowMs: number): boolean {
    const slot = this.slots.get(mid);
    if (slot === undefined || !this.connected || this.closed) return false;
    const h = rtp.header;
    // werift's parsed payload excludes the uplink's RTP padding: the P bit is not carried over (each hop pads for itself).
    const payload = rtp.payload;
    let seq = h.sequenceNumber;
    let ts = h.timestamp;
    let pad = 0;
    if (slot.paced !== undefined && this.pacer !== undefined) {
      this.pacer.forwarded(slot.paced, source, seq, ts, payload.length, nowMs, STAMP);
      seq = STAMP.seq;
      ts = STAMP.ts;
      pad = STAMP.pad;
    } else if (slot.source !== source) {
      // A new source in this slot: keep the slot's sequence and timestamp continuous (RFC 3550 §5.1 allows a jump; receivers resync faster without).
      // Not werift's own `discontinuity` flag: it truncates the timestamp offset to 16 bits (core/cell-rtp.ts, switchAnchor).
      slot.transceiver.sender.replaceRTP(switchAnchor(h.sequenceNumber, h.timestamp, slot.transceiver.kind === 'video' ? 'video' : 'audio'));
      slot.source = source;
    }
    if (slot.fast?.send(h.marker, seq, ts, payload, pad) !== true) sendThroughWerift(slot.transceiver.sender, h.payloadType, h.marker, seq, ts, payload, pad);
    return true;
  }

  /**
   * Paces this session's audio receive slots on `pacer` from now on (docs/RTC.md, "Downlink
   * padding"): each gets its own RTP numbering, random start (RFC 3550 §5.1).
   */
  pace(pacer: DownlinkPacer, nowMs: number): void {
    if (this.closed || this.pacer !== undefined) return;
    this.pacer = pacer;
    for (const [mid, slot] of this.slots) {
      if (slot.transceiver.kind !== 'audio') continue;
      const r = randomBytes(6); // once per slot per session: control plane
      slot.paced = new PacedSlot({ peer: this, mid } satisfies PadRef, nowMs, r.readUInt16BE(0), r.readUInt32BE(2));
      pacer.add(slot.paced, nowMs);
    }
  }

  /** Sends one padding-only packet on a paced slot the pacer says is owed one; false when it cannot. */
  sendPadding(mid: string, nowMs: number): boolean {
    const slot = this.slots.get(mid);
    if (slot?.paced === undefined || this.pacer === undefined || !this.connected || this.closed) return false;
    this.pacer.padded(slot.paced, nowMs, STAMP);
    if (slot.fast?.send(false, STAMP.seq, STAMP.ts, EMPTY, STAMP.pad) !== true) sendThroughWerift(slot.transceiver.sender, 0, false, STAMP.seq, STAMP.ts, EMPTY, STAMP.pad);
    return true;
  }

  /** Asks this member's uplink for a key frame (PLI, RFC 4585 §6.3.1). */
  requestKeyframe(): void {
    if (this.closed || this.uplinkVideoSsrc === 0) return;
    const video = this.pc.getTransceivers()[1];
    video?.receiver.sendRtcpPLI(this.uplinkVideoSsrc).catch(ignore);
  }

  /** Tells the video uplink the most it may send (REMB, codec/remb.ts); nothing before it has sent. */
  sendRemb(bps: number): void {
    if (this.closed || !this.connected || this.uplinkVideoSsrc === 0) return;
    const video = this.pc.getTransceivers()[1];
    if (video === undefined) return;
    const { exp, mantissa } = rembExponent(bps);
    const feedback = new ReceiverEstimatedMaxBitrate({ senderSsrc: video.receiver.rtcpSsrc, mediaSsrc: 0, ssrcNum: 1, brExp: exp, brMantissa: mantissa, bitrate: BigInt(mantissa) << BigInt(exp), ssrcFeedbacks: [this.uplinkVideoSsrc] });
    video.receiver.dtlsTransport.sendRtcp([new RtcpPayloadSpecificFeedback({ feedback })]).catch(ignore);
  }

  /** Sends a roster message when the channel is open; false when it is not (yet). */
  sendRoster(json: string): boolean {
    if (this.closed || this.channel?.readyState !== 'open') return false;
    try {
      this.channel.send(json);
      return true;
    } catch {
      return false; // the association went away between the check and the send
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const slot of this.slots.values()) if (slot.paced !== undefined) this.pacer?.remove(slot.paced);
    await this.pc.close().catch(() => undefined);
    this.seat.release(); // werift closing its transport did too: idempotent
  }
}

/** One shared no-op for rejected sends (no closure per packet). */
function ignore(): void {}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const sub = pc.iceGatheringStateChange.subscribe((s) => {
      if (s === 'complete') {
        sub.unSubscribe();
        resolve();
      }
    });
  });
}

/**
 * werift's answer, shaped for browsers: `a=ice-lite` moved to the session level where RFC 8839 §5.3
 * puts it, `a=ice-options:trickle` dropped (the relay sends all its candidates in the answer), the
 * host candidate's port set to the edge's one UDP port (RFC 8839 §5.1: the port is the 6th field;
 * werift wrote its throwaway socket's), and every header extension outside the allow-list removed
 * (belt and braces: werift was only offered the allowed ones).
 */
export function shapeAnswer(sdp: string, port: number): string {
  const lines = stripForbiddenExtensions(sdp)
    .split('\r\n')
    .filter((l) => l !== 'a=ice-lite' && l !== 'a=ice-options:trickle')
    .map((l) => (l.startsWith('a=candidate:') ? l.replace(CANDIDATE_PORT, `$1${port}$2`) : l));
  const t = lines.findIndex((l) => l.startsWith('t='));
  lines.splice(t + 1, 0, 'a=ice-lite');
  return lines.join('\r\n');
}

/** `a=candidate:<foundation> <component> udp <priority> <address> <port> typ ...` (RFC 8839 §5.1). */
const CANDIDATE_PORT = /^(a=candidate:\S+ \d+ udp \d+ \S+ )\d+( typ )/i;
