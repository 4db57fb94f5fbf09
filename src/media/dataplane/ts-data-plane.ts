/**
 * The TypeScript data plane: the sans-IO MediaCore, one node:dgram socket and a setTimeout pacer.
 * It reads the clock, moves bytes between the socket and the core, and schedules the next wake-up
 * the core asks for; everything else is the core. It serves when the native addon is unavailable
 * or disabled (XRELAY_NATIVE=0), and is the reference the native plane is tested against.
 *
 * Under a flood it degrades as far as Node allows (README "Media plane", docs/PROTOCOL.md §7.1):
 * cells from a session's proven path go straight to the open; any other cell that passed the
 * core's cheap checks asks the OpenGuard (per source address, then per session token buckets)
 * before costing an AEAD open; each proven UDP path gets a connected socket of its own
 * (connected-paths.ts), so a call's datagrams do not queue behind a flood; a large SO_RCVBUF absorbs
 * bursts. What the kernel still drops at the shared socket is read from /proc at /metrics time
 * (kernel-drops.ts). What Node cannot do is read in batches: past ~100-150k datagrams/s per core
 * the event loop is the limit and the shared socket sheds (new joins and roams compete there).
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { MediaCore, SendBatch, type JoinError, type JoinResult } from '../core/media-core.js';
import { OpenGuard, type OpenGate } from '../core/open-guard.js';
import { CellPaths } from './cell-paths.js';
import { rateLimitKey } from '../../limits/client-address.js';
import { ConnectedPaths } from './connected-paths.js';
import { findUdpSocketInode, readUdpKernelDrops } from './kernel-drops.js';
import type { DataPlane, DataPlaneCounters, DataPlaneOptions, ExternalSink } from './data-plane.js';

export async function startTsDataPlane(opts: DataPlaneOptions): Promise<DataPlane> {
  const core = new MediaCore(opts.core);
  const now = (): number => performance.now();
  const type = opts.host.includes(':') ? 'udp6' : 'udp4';
  const udp: Socket = createSocket({
    type,
    // Connected per-path sockets share the port (connected-paths.ts), which needs SO_REUSEADDR on all.
    reuseAddr: opts.connectedPaths !== undefined,
    ...(opts.recvBufferBytes !== undefined ? { recvBufferSize: opts.recvBufferBytes } : {}),
  });
  let connected: ConnectedPaths | undefined;
  const paths = new CellPaths(udp);
  const guard = opts.floodGuard === undefined ? undefined : new OpenGuard(opts.floodGuard);
  const { udpGate, extGate } = openGates(paths, guard);
  const gateUdp: OpenGate | undefined = guard === undefined ? undefined : udpGate;
  const gateExt: OpenGate | undefined = guard === undefined ? undefined : extGate;
  let socketErrors = 0;
  const batch = new SendBatch();
  let closed = false;

  const flush = (): void => {
    for (let i = 0; i < batch.closedCount; i++) {
      paths.forget(batch.closedIndexes[i]!);
      connected?.release(batch.closedIndexes[i]!);
      opts.onClosed(batch.closedIndexes[i]!, batch.closedReasons[i]!);
    }
    for (let i = 0; i < batch.count; i++) paths.send(batch.indexes[i]!, batch.cells[i]!);
    batch.reset();
  };
  const pacer = new Pacer(core, now, batch, flush);
  const onMessage = (msg: Buffer, rinfo: RemoteInfo): void => {
    udpGate.address = rinfo.address;
    udpGate.port = rinfo.port;
    udpGate.v6 = rinfo.family === 'IPv6';
    const index = core.receive(msg, now(), gateUdp);
    if (index >= 0 && paths.fromUdp(index, rinfo.address, rinfo.port)) connected?.use(index, rinfo.address, rinfo.port);
  };
  udp.on('message', onMessage);
  // Send failures (EMSGSIZE, ENOBUFS, ICMP unreachable reported on a later call) surface here when
  // send() has no callback; the socket keeps serving. Counted, never thrown.
  udp.on('error', () => void socketErrors++);
  await bindShared(udp, type, opts);
  const inode = findUdpSocketInode(udp.address().port);
  if (opts.connectedPaths !== undefined) {
    connected = new ConnectedPaths({ type, host: opts.host, port: udp.address().port, max: opts.connectedPaths, onMessage });
  }

  return {
    kind: 'typescript',
    core,
    udpPort: udp.address().port,
    now,
    join(roomId: Uint8Array, profileName: string, rx: Uint8Array, tx: Uint8Array): JoinResult | JoinError {
      const j = core.join(roomId, profileName, rx, tx, now());
      if (typeof j !== 'string') {
        paths.forget(j.index);
        connected?.release(j.index);
        guard?.forget(j.index);
        pacer.kick();
      }
      return j;
    },
    receiveExternal(cell: Uint8Array, sink: ExternalSink): number {
      extGate.sink = sink;
      const index = core.receive(cell, now(), gateExt);
      if (index >= 0 && paths.fromSink(index, sink)) connected?.release(index);
      return index;
    },
    forgetSink: (sink) => paths.forgetSink(sink),
    end(index: number): boolean {
      // Between two ticks the batch is empty: the close goes through the same flush as a tick's.
      if (closed || !core.leave(index, batch)) return false;
      flush();
      pacer.kick(); // the room's other members get their new roster at once
      return true;
    },
    // The kernel's drops are read from /proc only here (at /metrics collection), never per datagram.
    counters: () => countersOf(paths, connected, socketErrors, inode === undefined || closed ? undefined : readUdpKernelDrops(inode)),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      pacer.stop();
      connected?.closeAll();
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    },
  };
}

function countersOf(paths: CellPaths, connected: ConnectedPaths | undefined, socketErrors: number, kernelDrops: number | undefined): DataPlaneCounters {
  return {
    roams: paths.roams,
    unroutable: paths.unroutable,
    socketErrors: socketErrors + (connected?.counters.errors ?? 0),
    connectedPaths: connected?.size,
    connectedReady: connected?.counters.connected,
    kernelDrops,
  };
}

/** The flood guard's gates (open-guard.ts): one object per path kind, its source fields rewritten per cell (no closure or object per cell). */
function openGates(paths: CellPaths, guard: OpenGuard | undefined): { udpGate: OpenGate & { address: string; port: number; v6: boolean }; extGate: OpenGate & { sink: ExternalSink | undefined } } {
  const udpGate = {
    address: '',
    port: 0,
    v6: false,
    admit(index: number, nowMs: number): boolean {
      if (paths.isUdpPath(index, this.address, this.port)) return true;
      // IPv6 sources share a bucket per /64 (one subscriber holds a whole /64), as join limits do;
      // an IPv4-mapped address (::ffff:a.b.c.d on a dual-stack socket) is one IPv4 source.
      const v6 = this.v6 && !this.address.startsWith('::ffff:');
      return guard!.admit(index, v6 ? rateLimitKey(this.address) : this.address, nowMs);
    },
  };
  const extGate = {
    sink: undefined as ExternalSink | undefined,
    admit(index: number, nowMs: number): boolean {
      return paths.isSinkPath(index, this.sink!) || guard!.admit(index, undefined, nowMs);
    },
  };
  return { udpGate, extGate };
}

/** Wakes the core when it asks (core.poll's next wake-up) or at once after a join (kick). */
class Pacer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly core: MediaCore,
    private readonly now: () => number,
    private readonly batch: SendBatch,
    private readonly flush: () => void,
  ) {}

  private readonly tick = (): void => {
    this.timer = undefined;
    if (this.stopped) return;
    this.batch.reset();
    const wake = this.core.poll(this.now(), this.batch);
    this.flush();
    if (this.stopped || wake === Infinity) return;
    // Timers fire at or after their delay, so round up: waking early would find nothing due.
    this.timer = setTimeout(this.tick, Math.max(0, Math.ceil(wake - this.now())));
  };

  kick(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(this.tick, 0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

/** Binds the shared cell socket on opts.host:opts.udpPort. */
async function bindShared(udp: Socket, type: 'udp4' | 'udp6', opts: DataPlaneOptions): Promise<void> {
  // With SO_REUSEADDR the kernel would neither refuse a port another relay holds nor skip it when
  // picking one for port 0: a probe without it binds first, so "port in use" still fails the start.
  const port = opts.connectedPaths === undefined ? opts.udpPort : await probePort(type, opts.host, opts.udpPort);
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, opts.host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
}

/** Binds a socket without SO_REUSEADDR to host:port (0: a port no socket holds), closes it and returns the port. */
async function probePort(type: 'udp4' | 'udp6', host: string, port: number): Promise<number> {
  const probe = createSocket({ type, reuseAddr: false });
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.bind(port, host, () => resolve());
  });
  const bound = probe.address().port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return bound;
}
