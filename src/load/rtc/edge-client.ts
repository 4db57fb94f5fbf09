/**
 * A werift client of the WebRTC edge (the load kit's WebRTC participants, tests and
 * npm run bench:rtc), built the way docs/RTC.md says a client offers: uplink sendonly first, K
 * recvonly receive slots, one data channel, BUNDLE and rtcp-mux. It records what arrives per
 * receive slot and the roster messages (or hands each packet to `onRtp` and keeps nothing).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { relayHttpUrl } from '../../client/relay-url.js';
import { DEFAULT_MAX_JOIN_REDIRECTS, roomElsewhereOf } from '../../client/room-redirect.js';
import { GenericNack, MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters, RtcpTransportLayerFeedback, RtpHeader, RtpPacket, useAbsSendTime, useAudioLevelIndication, useNACK, usePLI, useSdesMid, useTransportWideCC, useTWCC, type RTCDataChannel } from 'werift';

export const roomId = (): string => randomBytes(32).toString('base64url');

export interface Roster {
  type: string;
  epoch: number;
  slots: { mid: string; member: string; kind: string }[];
}

export class EdgeClient {
  readonly pc: RTCPeerConnection;
  readonly track = new MediaStreamTrack({ kind: 'audio' });
  readonly videoTrack = new MediaStreamTrack({ kind: 'video' });
  /** RTP packets received on all receive slots (media: padding-only packets are not counted here). */
  receivedPackets = 0;
  /** Padding-only RTP packets (RFC 3550 §5.1, no payload) received on all receive slots: the edge's downlink padding. */
  paddingPackets = 0;
  /** Called for every RTP packet on a receive slot, padding-only ones too (capture: arrival ms, the decrypted packet). */
  onSlotRtp: ((mid: string, rtp: RtpPacket, atMs: number) => void) | undefined;
  /** Per receive-slot mid: the sequence numbers and SSRC seen (the first 2000). */
  readonly slotSeqs = new Map<string, { ssrc: number; seqs: number[] }>();
  /** Key-frame requests (PLI) the relay sent to this client's video uplink. */
  plisReceived = 0;
  /** Payloads received per receive-slot mid (the first 1000 of each). */
  readonly received = new Map<string, Buffer[]>();
  readonly rosters: Roster[] = [];
  location = '';
  /** Base URL of the node that answered the offer (cluster mode: the room's node, after redirects); the Location is relative to it. */
  relay = '';
  /** Cluster mode: 409 room_elsewhere answers followed in a row (0: the first answer is returned as it is). */
  maxRedirects = DEFAULT_MAX_JOIN_REDIRECTS;
  /** The nodes the offer was posted to, in order (the first, then each room_elsewhere's). */
  readonly asked: string[] = [];
  answer = '';
  private timer: NodeJS.Timeout | undefined;
  private videoTimer: NodeJS.Timeout | undefined;
  private seq = 0;
  /** Called with every media RTP packet of a receive slot, padding-only ones left out (the load kit's participants). */
  onRtp: ((mid: string, rtp: RtpPacket) => void) | undefined;
  /** Keep sequence numbers and payloads per slot (tests); the load kit turns it off. */
  keepPackets = true;

  constructor(
    readonly slots: number,
    readonly video = false,
    /** Offer the audio-level extension too (the relay must not answer it). */
    offerAudioLevel = false,
  ) {
    const ext = [useSdesMid(), useAbsSendTime(), useTransportWideCC(), ...(offerAudioLevel ? [useAudioLevelIndication()] : [])];
    this.pc = new RTCPeerConnection({
      bundlePolicy: 'max-bundle',
      codecs: {
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48_000, channels: 2, rtcpFeedback: [useTWCC(), useNACK()] })],
        video: [new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, rtcpFeedback: [useTWCC(), useNACK(), usePLI()] })],
      },
      headerExtensions: { audio: ext, video: [useSdesMid(), useAbsSendTime(), useTransportWideCC()] },
    });
    this.pc.addTransceiver(this.track, { direction: 'sendonly' });
    if (video) this.pc.addTransceiver(this.videoTrack, { direction: 'sendonly' }).sender.onPictureLossIndication.subscribe(() => this.plisReceived++);
    for (let i = 0; i < slots; i++) this.pc.addTransceiver('audio', { direction: 'recvonly' });
    if (video) for (let i = 0; i < slots; i++) this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.createDataChannel('client');
    this.pc.onDataChannel.subscribe((dc: RTCDataChannel) => {
      if (dc.label !== 'xrelay') return;
      dc.onMessage.subscribe((m) => this.rosters.push(JSON.parse(m.toString()) as Roster));
    });
  }

  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await gathered(this.pc);
    return this.pc.localDescription!.sdp;
  }

  /**
   * Posts the offer to the edge, following 409 room_elsewhere to the node it names (at most
   * `maxRedirects` times, as the SDK does: room-redirect.ts); the last HTTP answer (status, body).
   */
  async join(base: string, room: string, profile = 'audio', offer?: string, shapeAnswer: (sdp: string) => string = (x) => x): Promise<{ status: number; body: string }> {
    const sdp = offer ?? (await this.offer());
    let relay = base;
    let res: Response;
    let body: string;
    for (let hops = 0; ; hops++) {
      this.asked.push(relay);
      res = await fetch(`${relay}/v1/rtc/rooms/${room}?profile=${profile}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: sdp });
      body = await res.text();
      const next = res.status === 409 && hops < this.maxRedirects ? roomElsewhereOf(body) : undefined;
      if (next === undefined) break;
      relay = next;
    }
    if (res.status === 201) {
      this.relay = relay;
      this.location = res.headers.get('location') ?? '';
      this.answer = body;
      await this.pc.setRemoteDescription({ type: 'answer', sdp: shapeAnswer(body) });
      for (const t of this.pc.getTransceivers()) {
        if (t.direction !== 'recvonly') continue;
        const mid = t.mid!;
        t.receiver.track.onReceiveRtp.subscribe((rtp) => {
          this.onSlotRtp?.(mid, rtp, performance.now());
          if (rtp.payload.length === 0 && rtp.header.padding) {
            this.paddingPackets++;
            return;
          }
          this.receivedPackets++;
          this.onRtp?.(mid, rtp);
          if (!this.keepPackets) return;
          const seen = this.slotSeqs.get(mid) ?? { ssrc: rtp.header.ssrc, seqs: [] };
          this.slotSeqs.set(mid, seen);
          if (seen.seqs.length < 2000) seen.seqs.push(rtp.header.sequenceNumber);
          let list = this.received.get(mid);
          if (list === undefined) this.received.set(mid, (list = []));
          if (list.length < 1000) list.push(rtp.payload);
        });
      }
    }
    return { status: res.status, body };
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.pc.connectionState === 'connected') return resolve();
      const sub = this.pc.connectionStateChange.subscribe((s) => {
        if (s === 'connected') {
          sub.unSubscribe();
          resolve();
        } else if (s === 'failed') reject(new Error('connection failed'));
      });
    });
  }

  /** Sends one audio RTP packet every 20 ms whose payload is `marker:counter`, zero-padded to `size` bytes if given. */
  startSending(marker: string, size = 0): void {
    this.timer = setInterval(() => {
      const n = this.seq++;
      const text = Buffer.from(`${marker}:${n}`);
      const payload = size > text.length ? Buffer.concat([text, Buffer.alloc(size - text.length)]) : text;
      this.track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: n & 0xffff, timestamp: (n * 960) >>> 0, ssrc: 1, marker: false }), payload));
    }, 20);
  }

  /** Sends one audio RTP packet now (sequence and timestamp continue the uplink's: one 20 ms Opus frame each). */
  sendAudio(payload: Buffer): void {
    const n = this.seq++;
    this.track.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 96, sequenceNumber: n & 0xffff, timestamp: (n * 960) >>> 0, ssrc: 1, marker: false }), payload));
  }

  /** Sends one video RTP packet every 33 ms (arbitrary payload: the relay does not decode), marker set. */
  startSendingVideo(marker: string): void {
    let n = 0;
    this.videoTimer = setInterval(() => {
      this.videoTrack.writeRtp(new RtpPacket(new RtpHeader({ payloadType: 97, sequenceNumber: n & 0xffff, timestamp: (n * 3000) >>> 0, ssrc: 2, marker: true }), Buffer.from(`${marker}:${n++}`)));
    }, 33);
  }

  /** Asks the relay for a key frame on receive slot `mid` (PLI, RFC 4585 §6.3.1). */
  async sendPli(mid: string): Promise<void> {
    const t = this.pc.getTransceivers().find((x) => x.mid === mid)!;
    await t.receiver.sendRtcpPLI(this.slotSeqs.get(mid)!.ssrc);
  }

  /** Sends a generic NACK (RFC 4585 §6.2.1) for `seqs` on receive slot `mid`. */
  async sendNack(mid: string, seqs: number[]): Promise<void> {
    const t = this.pc.getTransceivers().find((x) => x.mid === mid)!;
    const feedback = new GenericNack({ senderSsrc: t.receiver.rtcpSsrc, mediaSourceSsrc: this.slotSeqs.get(mid)!.ssrc, lost: seqs });
    await t.receiver.dtlsTransport.sendRtcp([new RtcpTransportLayerFeedback({ feedback })]);
  }

  /** Audio packets written to the uplink so far. */
  get sentPackets(): number {
    return this.seq;
  }

  stopSending(): void {
    clearInterval(this.timer);
    clearInterval(this.videoTimer);
  }

  /** The marker strings (payload before ':') seen per receive slot. */
  sources(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const [mid, list] of this.received) out.set(mid, new Set(list.map((p) => p.toString().split(':')[0]!.replace(/\0+$/, ''))));
    return out;
  }

  /** Leaves: DELETE of the session's Location at the node that answered; its status (0 when not joined). */
  async leave(): Promise<number> {
    if (this.location === '') return 0;
    const res = await fetch(relayHttpUrl(this.relay, this.location), { method: 'DELETE' });
    return res.status;
  }

  async close(): Promise<void> {
    this.stopSending();
    await this.pc.close();
  }
}

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

export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
