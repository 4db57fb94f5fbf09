/**
 * A UDP proxy on loopback between one browser and its WebRTC edge session, recording what a network
 * observer next to the relay sees of each datagram: when, which way, how big, and what SRTP leaves in
 * clear (RFC 3711 §3.1: the RTP header is authenticated, not encrypted): first-byte class
 * (RFC 7983 §7), and for RTP the SSRC, sequence, timestamp, marker, P bit and header extension IDs.
 * The browser is sent here by rewriting the port of the answer's one host candidate (the edge is
 * ICE-lite and answers checks where they come from, so it sees the proxy as the browser).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { TapTrace } from '../../src/load/leak/tap.js';
import { nowEpochMs } from '../../src/load/leak/tap.js';
import { classifyFirstByte, findExtension, readRtpHeader, RTP_IS_RTCP, RTP_OK, type RtpFields } from '../../src/rtc/codec/rtp-header.js';

export type WireKind = 'stun' | 'dtls' | 'rtp' | 'rtcp' | 'other';

export interface WirePacket {
  t: number;
  size: number;
  up: boolean;
  kind: WireKind;
  ssrc: number;
  seq: number;
  ts: number;
  marker: boolean;
  padding: boolean;
  /** RTP header extension element IDs present (one-byte form, RFC 8285 §4.2). */
  extIds: number[];
}

export class WireTap {
  readonly packets: WirePacket[] = [];
  private client: RemoteInfo | undefined;
  private readonly front: Socket = createSocket('udp4');
  private readonly back: Socket = createSocket('udp4');
  private readonly fields: RtpFields = { payloadType: 0, marker: false, sequence: 0, timestamp: 0, ssrc: 0, payloadOffset: 0, extOffset: 0, extLength: 0, extProfile: 0 };
  private readonly len = new Uint32Array(1);

  constructor(private readonly relayPort: number) {}

  async start(): Promise<number> {
    this.front.on('message', (m: Buffer, r: RemoteInfo) => {
      this.client = r;
      this.record(m, true);
      this.back.send(m, this.relayPort, '127.0.0.1');
    });
    this.back.on('message', (m: Buffer) => {
      this.record(m, false);
      if (this.client !== undefined) this.front.send(m, this.client.port, this.client.address);
    });
    for (const s of [this.front, this.back]) s.on('error', () => undefined);
    await Promise.all([this.front, this.back].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
    return this.front.address().port;
  }

  private record(m: Buffer, up: boolean): void {
    const p: WirePacket = { t: nowEpochMs(), size: m.length, up, kind: 'other', ssrc: 0, seq: 0, ts: 0, marker: false, padding: false, extIds: [] };
    const c = classifyFirstByte(m[0] ?? 255);
    if (c !== 'rtp') p.kind = c;
    else {
      const r = readRtpHeader(m, this.fields);
      if (r === RTP_IS_RTCP) p.kind = 'rtcp';
      else if (r === RTP_OK) {
        const f = this.fields;
        Object.assign(p, { kind: 'rtp', ssrc: f.ssrc, seq: f.sequence, ts: f.timestamp, marker: f.marker, padding: (m[0]! & 0x20) !== 0 });
        for (let id = 1; id <= 14; id++) if (findExtension(m, f, id, this.len) >= 0) p.extIds.push(id);
      }
    }
    this.packets.push(p);
  }

  /** The packets of [from, to) as the leak meter's trace (every datagram: an observer sees them all). */
  trace(from: number, to: number): TapTrace {
    const list = this.packets.filter((p) => p.t >= from && p.t < to);
    return { t: Float64Array.from(list.map((p) => p.t)), size: Uint16Array.from(list.map((p) => p.size)), up: Uint8Array.from(list.map((p) => (p.up ? 1 : 0))), count: list.length, unrecorded: 0 };
  }

  close(): void {
    this.front.close();
    this.back.close();
  }
}

/** The port of the answer's one host candidate (the relay session's socket). */
export function candidatePort(sdp: string): number | undefined {
  const m = / (\d+) typ host/.exec(sdp);
  return m === null ? undefined : Number(m[1]);
}
