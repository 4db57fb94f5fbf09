/**
 * The media data plane boundary: who owns the UDP socket, the pacer's clock and the cell hot path.
 * Two implementations with one contract and one test suite:
 *
 *  - `typescript`: the sans-IO MediaCore, a node:dgram socket and a setTimeout pacer;
 *  - `native`: the addon in native/ (N-API), whose own thread owns the socket (recvmmsg/sendmmsg),
 *    the hop crypto (OpenSSL EVP), anti-replay, fan-out and the pacer.
 *
 * The TypeScript control plane (join route, hop-key agreement, profiles, WebSocket fallback,
 * metrics, logs) sits above this interface and never sees which one serves, except in one log line.
 * The boundary is deliberately general: "datagrams in on one socket, datagrams out to per-session
 * paths, or to an external sink JS owns", so other planes (TURN ChannelData) can reuse the shell.
 */
import type { CoreOptions, JoinError, JoinResult } from '../core/media-core.js';
import type { OpenGuardOptions } from '../core/open-guard.js';
import type { CellCore } from './cell-core.js';
import type { NativeIoStats } from './native-core.js';

/** A path JS owns (a WebSocket): the data plane hands it the session's cells. */
export interface ExternalSink {
  send(cell: Buffer): void;
}

export interface DataPlaneOptions {
  readonly core: CoreOptions;
  /** Address to bind the cell socket to (IPv4 or IPv6 literal) and port (0 picks one). */
  readonly host: string;
  readonly udpPort: number;
  /** A session ended (in-band leave or idle): for logs and path bookkeeping above. */
  readonly onClosed: (index: number, reason: number) => void;
  /** TypeScript plane: token buckets in front of the AEAD open for cells off their session's proven path; undefined turns the guard off. */
  readonly floodGuard?: OpenGuardOptions;
  /** TypeScript plane: SO_RCVBUF asked for (the kernel caps it at net.core.rmem_max); undefined keeps the kernel default. */
  readonly recvBufferBytes?: number;
  /** TypeScript plane: most connected per-path sockets (connected-paths.ts); undefined keeps one shared socket. */
  readonly connectedPaths?: number;
}

export interface DataPlaneCounters {
  /** Sessions whose cells moved to a new address or transport. */
  roams: number;
  /** Cells due for a session with no known path. */
  unroutable: number;
  /** Native plane: WebSocket cells dropped in the I/O thread because JS had fallen 32 ticks behind taking them. */
  externalDrops?: number;
  /** TypeScript plane: datagrams the kernel dropped at the socket's full receive queue (/proc), undefined where unreadable. */
  kernelDrops?: number;
  /** TypeScript plane: errors the UDP socket reported (failed sends). */
  socketErrors?: number;
  /** TypeScript plane: connected per-path sockets open now. */
  connectedPaths?: number;
  /** TypeScript plane: connected per-path sockets whose connect() completed, ever. */
  connectedReady?: number;
  /** The native data plane's I/O thread counters (send drops, kernel receive-queue drops, batches); absent on the TypeScript one. */
  native?: NativeIoStats;
}

export interface DataPlane {
  readonly kind: 'native' | 'typescript';
  readonly core: CellCore;
  readonly udpPort: number;
  /** The clock the data plane paces on (ms, monotonic). */
  now(): number;
  /** Admits a session on the data plane's clock and wakes its pacer. */
  join(roomId: Uint8Array, profileName: string, rx: Uint8Array, tx: Uint8Array): JoinResult | JoinError;
  /** A cell that arrived on an external path (WebSocket); an accepted one routes the session there. */
  receiveExternal(cell: Uint8Array, sink: ExternalSink): number;
  /** An external path went away: sessions on it have no path until their next accepted cell. */
  forgetSink(sink: ExternalSink): void;
  /** Ends the session at `index` now (cluster mode: its room's lease went to another node); onClosed follows. False when none is there. */
  end(index: number): boolean;
  counters(): DataPlaneCounters;
  close(): Promise<void>;
}
