/**
 * The "padding off" observer view. The SDK and relay have no switch to turn hop padding off (every
 * session sends one fixed-size cell per tick, by design), so the kit produces what an *unpadded*
 * call of the same speech would put on the wire: an SRTP-style VBR stream, one packet per 20 ms
 * frame, each 12 (RTP header) + Opus frame + 10 (SRTP auth tag) bytes, with voiced frames in talk
 * and small comfort-noise frames in silence (DTX off, as WebRTC's default). These are real UDP
 * datagrams, sent through an observer tap to a loopback sink, so the meter reads them exactly as it
 * reads the padded cells.
 */
import { createSocket, type Socket } from 'node:dgram';
import { UdpTap } from './tap.js';

export const RTP_HEADER_BYTES = 12;
export const SRTP_TAG_BYTES = 10;

/** A loopback sink that swallows every datagram (the far end of the unpadded streams). */
export class Sink {
  private readonly sock: Socket = createSocket('udp4');
  port = 0;
  private closed = false;

  async start(): Promise<void> {
    this.sock.on('message', () => undefined);
    this.sock.on('error', () => undefined);
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
    this.port = this.sock.address().port;
  }
  close(): void {
    this.sock.close();
  }
}

/** One participant's unpadded stream: a sender socket → its own tap → the shared sink. */
export class UnpaddedMirror {
  readonly tap: UdpTap;
  private readonly sock: Socket = createSocket('udp4');
  private target = { host: '127.0.0.1', port: 0 };
  private readonly buf = Buffer.alloc(1500, 0x33);
  private seq = 0;
  bytesSent = 0;
  packetsSent = 0;

  constructor(sinkPort: number, maxPackets?: number) {
    this.tap = new UdpTap({ host: '127.0.0.1', port: sinkPort }, maxPackets);
  }

  private closed = false;

  async start(): Promise<void> {
    this.sock.on('error', () => undefined);
    this.target = await this.tap.start();
    await new Promise<void>((r) => this.sock.bind(0, '127.0.0.1', () => r()));
  }

  /** Sends one SRTP-like packet carrying an `opusBytes` frame. */
  sendFrame(opusBytes: number): void {
    const len = RTP_HEADER_BYTES + opusBytes + SRTP_TAG_BYTES;
    this.buf[0] = 0x80;
    this.buf.writeUInt16BE(this.seq++ & 0xffff, 2);
    this.sock.send(this.buf.subarray(0, len), this.target.port, this.target.host);
    this.bytesSent += len;
    this.packetsSent++;
  }

  close(): void {
    if (this.closed) return; // a member whose join failed is closed then, and again with the run
    this.closed = true;
    this.sock.close();
    this.tap.close();
  }
}
