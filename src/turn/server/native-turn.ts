/**
 * The native TURN data path (native/src/turn_*.cc): the addon's thread owns the TURN UDP listener
 * and the relay sockets of UDP clients' allocations, and forwards ChannelData, plain Send
 * indications and peer datagrams (as ChannelData or Data indications) without entering JS. The TS
 * core keeps all control; this module is its host-side glue:
 *
 *  - datagrams the native side does not forward (requests, unusual messages) arrive in batches and
 *    go to `TurnCore.handleUdp`, exactly as from a dgram socket;
 *  - each allocation's permissions and channels are pushed (packForwarding) whenever the core
 *    changes them; native checks their expiry against `Date.now()`'s clock, so expiry stays exact;
 *  - responses go out of the native listener; relay ports are picked here in the configured range.
 *
 * TCP/TLS clients keep the TypeScript data path (their relay sockets are dgram sockets in JS).
 */
import { selectNative, type DataPlaneChoice } from '../../native/switch.js';
import { loadNativeAddon } from '../../native/addon.js';
import { layoutIndex, layoutMismatch } from '../../native/layout.js';
import { formatIpv4, formatIpv6, parseIp } from '../codec/ip.js';
import type { Allocation } from '../core/allocation.js';
import { createTurnStats, type TurnStats } from '../core/types.js';
import type { RelayBinding } from './core-options.js';

/** The addon's TURN exports (native/src/turn_addon.cc). */
export interface NativeTurnAddon {
  NativeTurn: new (tidPrefix: Uint8Array) => NativeTurnHandle;
  /** Output size fromPeer needs. */
  turnMaxClientMessage: number;
  /** NativeTurn.stats()'s field names in order (checked against NATIVE_TURN_STATS at load). */
  turnStatsLayout: readonly string[];
}

export interface NativeTurnHandle {
  add(id: number, clientIp: string, clientPort: number, relayFamily: 4 | 6): boolean;
  remove(id: number): boolean;
  sync(id: number, packed: Uint8Array): boolean;
  fromClient(buf: Uint8Array, ip: string, port: number, nowMs: number, out: Int32Array, ipOut: Uint8Array): number;
  fromPeer(id: number, buf: Uint8Array, peerIp: string, peerPort: number, nowMs: number, out: Buffer): number;
  stats(out: Float64Array): void;
  start(host: string, port: number, bufBytes: number, onUp: (bytes: Buffer, meta: Int32Array, addrs: Buffer) => void): number;
  stop(): void;
  openRelay(id: number, bindIp: string, port: number, clientIp: string, clientPort: number): number;
  closeRelay(id: number): boolean;
  sendToClient(ip: string, port: number, data: Uint8Array): number;
  sendToPeer(id: number, ip: string, port: number, data: Uint8Array): number;
}

/** fromClient results. */
export const NativeAction = { drop: 0, toPeer: 1, up: 2 } as const;

/**
 * NativeTurn.stats(), in order (native/src/turn_addon.cc, XR_TURN_STATS: the same names;
 * test/native/layouts.test.ts compares, loadNativeTurn checks the addon's).
 */
export const NATIVE_TURN_STATS = [
  'toPeerPackets', 'toPeerBytes', 'toClientPackets', 'toClientBytes',
  'dropMalformed', 'dropNotStun', 'dropNoAllocation', 'dropNoPermission', 'dropNoChannel',
  'handedUp', 'upDropped', 'sendErrors', 'sendWaits', 'recvBatches', 'sendBatches', 'truncated', 'allocations', 'sendWouldBlock',
] as const;
export const NATIVE_TURN_STATS_LEN = NATIVE_TURN_STATS.length;
/** Index of each name in NativeTurn.stats(). */
export const turnStat = layoutIndex(NATIVE_TURN_STATS);
/** The native drops, by the reason names the TypeScript core counts them under. */
const DROPS = [
  ['malformed', turnStat.dropMalformed],
  ['not_stun', turnStat.dropNotStun],
  ['no_allocation', turnStat.dropNoAllocation],
  ['no_permission', turnStat.dropNoPermission],
  ['no_channel', turnStat.dropNoChannel],
] as const;

/**
 * The native TURN thread's own I/O counters (beside relayed packets and drops, which merge into
 * TurnStats). Sends the JS thread makes through the native listener or a relay socket
 * (sendToClient/sendToPeer) are not in these: their caller counts failures.
 */
export interface NativeTurnIo {
  /** Listener datagrams handed up to the TS core (requests, datagrams the fast path does not take). */
  handedUp: number;
  /** Hand-ups dropped because the JS thread fell behind (1024 batches queued): `backlog`. */
  upDropped: number;
  /** Datagrams the thread dropped at send, for any reason (per-datagram errors and sendWouldBlock). */
  sendErrors: number;
  /** Of sendErrors, those dropped because a socket's send buffer stayed full past the waits. */
  sendWouldBlock: number;
  /** Times a sendmmsg found a send buffer full and waited (up to 1 ms) for room. */
  sendWaits: number;
  recvBatches: number;
  sendBatches: number;
  /** Datagrams longer than the receive buffer (64 KiB), dropped. */
  truncated: number;
}

/** TurnStats merged with the native path's counters, plus its I/O counters (read by turn-metrics.ts). */
export interface MergedTurnStats extends TurnStats {
  native: NativeTurnIo;
}

/** The TURN half of the addon, or why it is unavailable. */
export function loadNativeTurn(load: () => { addon?: unknown; reason: string } = loadNativeAddon): { addon?: NativeTurnAddon; reason: string } {
  const { addon, reason } = load();
  if (addon === undefined) return { reason };
  const turn = addon as unknown as Partial<NativeTurnAddon>;
  if (typeof turn.NativeTurn !== 'function') return { reason: 'addon has no TURN data path (rebuild it: npm run build:native)' };
  const bad = layoutMismatch('TURN stats', turn.turnStatsLayout, NATIVE_TURN_STATS);
  if (bad !== undefined) return { reason: bad };
  return { addon: turn as NativeTurnAddon, reason: 'loaded' };
}

/**
 * Which TURN data path serves: `XRELAY_NATIVE=0|1` overrides `turn.dataPlane` (as for media);
 * `auto` means native when the addon loads. `native` asked for and unavailable is a start-up error.
 * `why` is for the start-up log line.
 */
export function selectTurnDataPath(
  configured: DataPlaneChoice,
  env: Readonly<Record<string, string | undefined>> = process.env,
  load: () => { addon?: NativeTurnAddon; reason: string } = loadNativeTurn,
): { addon?: NativeTurnAddon; why: string } {
  return selectNative('TURN', 'turn.dataPlane', configured, load, env);
}

const RECORD = 32;
const ipScratch = new Uint8Array(16);

/** Packs an allocation's permissions and channels for NativeTurn.sync (turn_forward.cc, Sync). */
export function packForwarding(alloc: Allocation): Uint8Array {
  const out = Buffer.alloc(8 + RECORD * (alloc.permissions.size + alloc.channels.size));
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  view.setUint32(0, alloc.permissions.size, true);
  view.setUint32(4, alloc.channels.size, true);
  let at = 8;
  const putIp = (ip: string): void => {
    ipScratch.fill(0);
    const n = parseIp(ip, ipScratch);
    out[at] = n === 16 ? 6 : n === 4 ? 4 : 0; // 0 never matches a packet's address
    out.set(ipScratch, at + 8);
  };
  for (const [ip, expires] of alloc.permissions) {
    putIp(ip);
    view.setFloat64(at + 24, expires, true);
    at += RECORD;
  }
  for (const ch of alloc.channels.values()) {
    putIp(ch.ip);
    view.setUint16(at + 2, ch.number, true);
    view.setUint16(at + 4, ch.port, true);
    view.setFloat64(at + 24, ch.expiresAt, true);
    at += RECORD;
  }
  return out;
}

/** The address text Node would report for 4 or 16 bytes (RFC 5952 formatting). */
function formatAddress(family: number, bytes: Uint8Array, at: number): string {
  return family === 4 ? formatIpv4(bytes, at) : formatIpv6(bytes, at);
}

/** The I/O counters of a NativeTurn.stats() buffer. */
export function nativeTurnIo(native: Float64Array): NativeTurnIo {
  return {
    handedUp: native[turnStat.handedUp]!,
    upDropped: native[turnStat.upDropped]!,
    sendErrors: native[turnStat.sendErrors]!,
    sendWaits: native[turnStat.sendWaits]!,
    recvBatches: native[turnStat.recvBatches]!,
    sendBatches: native[turnStat.sendBatches]!,
    truncated: native[turnStat.truncated]!,
    sendWouldBlock: native[turnStat.sendWouldBlock]!,
  };
}

/**
 * Adds the native counters into a snapshot of the core's (for /metrics and tests): relayed packets
 * and bytes, and drops under the reasons the TS path uses (hand-ups lost to a slow JS thread as
 * `backlog`). The native thread's I/O counters ride along as `native`.
 */
export function mergeNativeStats(core: TurnStats, native: Float64Array): MergedTurnStats {
  const s = createTurnStats();
  Object.assign(s.requests, core.requests);
  Object.assign(s.errors, core.errors);
  Object.assign(s.dropped, core.dropped);
  s.relayedPackets.toPeer = core.relayedPackets.toPeer + native[turnStat.toPeerPackets]!;
  s.relayedBytes.toPeer = core.relayedBytes.toPeer + native[turnStat.toPeerBytes]!;
  s.relayedPackets.toClient = core.relayedPackets.toClient + native[turnStat.toClientPackets]!;
  s.relayedBytes.toClient = core.relayedBytes.toClient + native[turnStat.toClientBytes]!;
  for (const [name, i] of DROPS) s.dropped[name] += native[i]!;
  const io = nativeTurnIo(native);
  s.dropped.backlog += io.upDropped;
  return { ...s, native: io };
}

export interface NativeUdpPath {
  readonly port: number;
  readonly handle: NativeTurnHandle;
  sendToClient(ip: string, port: number, data: Buffer): boolean;
  sendToPeer(alloc: Allocation, ip: string, port: number, data: Buffer): boolean;
  /** Binds a relay socket for a UDP client's allocation in the configured range: its port, or undefined. */
  openRelay(alloc: Allocation, even: boolean): number | undefined;
  closeRelay(alloc: Allocation): void;
  sync(alloc: Allocation): void;
  /** Native counters (NATIVE_TURN_STATS_LEN values, fresh buffer reused). */
  stats(): Float64Array;
  close(): void;
}

const EEXIST = 17;
/** Bind attempts before answering 508, as RelaySockets. */
const MAX_ATTEMPTS = 64;

export function startNativeUdpPath(
  addon: NativeTurnAddon,
  host: string,
  port: number,
  binding: RelayBinding,
  tidPrefix: Uint8Array,
  bufBytes: number,
  onDatagram: (ip: string, port: number, buf: Buffer) => void,
): NativeUdpPath {
  const h = new addon.NativeTurn(tidPrefix);
  const statsBuf = new Float64Array(NATIVE_TURN_STATS_LEN);
  const ports = new Map<number, number>(); // allocation id -> relay port
  const inUse = new Set<number>();
  const span = binding.portMax - binding.portMin + 1;
  let cursor = binding.portMin + Math.floor(Math.random() * span);
  let closed = false;

  const onUp = (bytes: Buffer, meta: Int32Array, addrs: Buffer): void => {
    if (closed) return;
    for (let i = 0, k = 0; i < meta.length; i += 4, k += 16) {
      const off = meta[i]!;
      onDatagram(formatAddress(meta[i + 2]!, addrs, k), meta[i + 3]!, bytes.subarray(off, off + meta[i + 1]!));
    }
  };
  const bound = h.start(host, port, bufBytes, onUp);

  return {
    port: bound,
    handle: h,
    sendToClient: (ip, p, data) => h.sendToClient(ip, p, data) === 0,
    sendToPeer: (alloc, ip, p, data) => h.sendToPeer(alloc.id, ip, p, data) === 0,
    openRelay(alloc: Allocation, even: boolean): number | undefined {
      const { portMin, portMax, bindIp } = binding;
      // Ports we hold are skipped without counting as attempts (a long run of live allocations
      // ahead of the cursor must not answer 508 while the range still has room); binds are capped.
      const attempts = portMin === 0 ? (even ? MAX_ATTEMPTS : 1) : Math.min(MAX_ATTEMPTS, span);
      // With a configured range the scan covers it once; with ephemeral ports (portMin 0) only the
      // attempt cap bounds it (an EVEN-PORT request may draw several odd ports in a row).
      for (let i = 0, scanned = 0; i < attempts && (portMin === 0 || scanned <= span); scanned++) {
        let want = 0;
        if (portMin !== 0) {
          want = cursor;
          cursor = cursor >= portMax ? portMin : cursor + 1;
          if (even && want % 2 === 1) want = want + 1 > portMax ? want - 1 : want + 1;
          if (want < portMin || inUse.has(want)) continue;
        }
        i++;
        const got = h.openRelay(alloc.id, bindIp, want, alloc.client.ip, alloc.client.port);
        if (got === -EEXIST) return undefined;
        if (got < 0) continue;
        if (even && got % 2 === 1) {
          h.closeRelay(alloc.id);
          continue;
        }
        inUse.add(got);
        ports.set(alloc.id, got);
        return got;
      }
      return undefined;
    },
    closeRelay(alloc: Allocation): void {
      const p = ports.get(alloc.id);
      if (p === undefined) return;
      ports.delete(alloc.id);
      inUse.delete(p);
      h.closeRelay(alloc.id);
    },
    sync(alloc: Allocation): void {
      if (ports.has(alloc.id)) h.sync(alloc.id, packForwarding(alloc));
    },
    stats(): Float64Array {
      h.stats(statsBuf);
      return statsBuf;
    },
    close(): void {
      if (closed) return;
      closed = true;
      h.stop();
      ports.clear();
      inUse.clear();
    },
  };
}
