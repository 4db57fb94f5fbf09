/**
 * The observer's tap: a UDP proxy on loopback between one client and its peer (the relay, or a
 * sink), forwarding every datagram unchanged and recording per packet only what a network
 * observer on the path learns without keys: when it passed, which way, and how big it was.
 * Recording goes into preallocated typed arrays (no per-packet objects); past `maxPackets` the tap
 * keeps forwarding and counts what it did not record.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';

export interface TapTrace {
  /** Epoch ms (performance.timeOrigin + now()), the clock every kit timestamp uses. */
  readonly t: Float64Array;
  readonly size: Uint16Array;
  /** 1 = client to peer (uplink), 0 = peer to client. */
  readonly up: Uint8Array;
  readonly count: number;
  readonly unrecorded: number;
}

export const nowEpochMs = (): number => performance.timeOrigin + performance.now();

export class UdpTap {
  private readonly times: Float64Array;
  private readonly sizes: Uint16Array;
  private readonly dirs: Uint8Array;
  private n = 0;
  private lost = 0;
  private client: RemoteInfo | undefined;
  private readonly front: Socket = createSocket('udp4');
  private readonly back: Socket = createSocket('udp4');
  private closed = false;

  constructor(
    private peer: { host: string; port: number },
    maxPackets = 1 << 16,
  ) {
    this.times = new Float64Array(maxPackets);
    this.sizes = new Uint16Array(maxPackets);
    this.dirs = new Uint8Array(maxPackets);
  }

  /** Binds both sides on 127.0.0.1 and returns where the client must send. */
  async start(): Promise<{ host: string; port: number }> {
    this.front.on('message', (m: Buffer, r: RemoteInfo) => {
      this.client = r;
      this.record(m.length, 1);
      this.back.send(m, this.peer.port, this.peer.host);
    });
    this.back.on('message', (m: Buffer) => {
      this.record(m.length, 0);
      if (this.client !== undefined) this.front.send(m, this.client.port, this.client.address);
    });
    const ignore = (): void => undefined;
    this.front.on('error', ignore);
    this.back.on('error', ignore);
    await Promise.all([this.front, this.back].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))));
    return { host: '127.0.0.1', port: this.front.address().port };
  }

  /** Forward to another peer from now on (a WebRTC session learns the relay's port from the answer). */
  retarget(peer: { host: string; port: number }): void {
    this.peer = peer;
  }

  private record(size: number, up: number): void {
    const i = this.n;
    if (i >= this.times.length) {
      this.lost++;
      return;
    }
    this.times[i] = nowEpochMs();
    this.sizes[i] = size;
    this.dirs[i] = up;
    this.n = i + 1;
  }

  trace(): TapTrace {
    return { t: this.times.subarray(0, this.n), size: this.sizes.subarray(0, this.n), up: this.dirs.subarray(0, this.n), count: this.n, unrecorded: this.lost };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.front.close();
    this.back.close();
  }
}

/**
 * A trace filled by the kit itself (no socket): the relay-side view of a WebRTC sender, i.e. each
 * RTP packet the relay forwarded from it (time and payload size) as one receiver got it.
 * Preallocated like the tap's; past `maxPackets` it counts what it did not record.
 */
export class TraceRecorder {
  private readonly times: Float64Array;
  private readonly sizes: Uint16Array;
  private readonly dirs: Uint8Array;
  private n = 0;
  private lost = 0;

  constructor(maxPackets = 1 << 16) {
    this.times = new Float64Array(maxPackets);
    this.sizes = new Uint16Array(maxPackets);
    this.dirs = new Uint8Array(maxPackets);
  }

  record(t: number, size: number, up: number): void {
    const i = this.n;
    if (i >= this.times.length) {
      this.lost++;
      return;
    }
    this.times[i] = t;
    this.sizes[i] = size;
    this.dirs[i] = up;
    this.n = i + 1;
  }

  trace(): TapTrace {
    return { t: this.times.subarray(0, this.n), size: this.sizes.subarray(0, this.n), up: this.dirs.subarray(0, this.n), count: this.n, unrecorded: this.lost };
  }
}
