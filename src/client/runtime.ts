/**
 * What the portable SDK needs from its platform, and nothing more: WebSockets (mailbox readers,
 * post sockets, the WebSocket cell path) and, where the platform has them, UDP sockets. One
 * implementation per platform: runtime-node.ts (`ws`, node:dgram) and runtime-web.ts (the
 * browser's WebSocket, no UDP). The package's `exports` conditions pick the entry point
 * (node.ts or browser.ts), which installs its runtime; the core modules never import either.
 */
import { XrelayClientError } from './client-error.js';

/** Options for WebSockets in Node (TLS trust, headers); browsers ignore them (the browser decides). */
export interface NodeSocketOptions {
  /** Extra CA certificates to trust (PEM), e.g. a test relay's self-signed certificate. */
  ca?: string | Uint8Array | ReadonlyArray<string | Uint8Array>;
  rejectUnauthorized?: boolean;
  headers?: Record<string, string>;
}

export interface SocketHandlers {
  open(): void;
  /** A binary message arrives as a Uint8Array, a text message as a string. */
  message(data: Uint8Array | string): void;
  close(code: number, reason: string): void;
  error(message: string): void;
}

/** One WebSocket, message-level. */
export interface SocketPort {
  readonly isOpen: boolean;
  send(data: Uint8Array | string): void;
  close(code?: number): void;
  /** Drops the connection without a closing handshake (after close() got no answer). */
  terminate(): void;
}

/** A connected UDP socket to one relay address. */
export interface UdpPort {
  send(cell: Uint8Array): void;
  close(): Promise<void>;
  /** A new local port, as after a NAT rebinding (tests and roaming). */
  rebind(): Promise<void>;
}

export interface ClientRuntime {
  readonly name: 'node' | 'browser';
  openSocket(url: string, handlers: SocketHandlers, opts?: NodeSocketOptions): SocketPort;
  /** Absent where the platform has no UDP (browsers): `transport: 'auto'` then means WebSocket. */
  readonly openUdp?: (host: string, port: number, onCell: (cell: Uint8Array) => void) => Promise<UdpPort>;
}

let installed: ClientRuntime | undefined;

/** Installed by the entry point (node.ts, browser.ts); the last one installed wins. */
export function installRuntime(runtime: ClientRuntime): void {
  installed = runtime;
}

export function currentRuntime(): ClientRuntime {
  if (installed === undefined) throw new XrelayClientError('unsupported', "no SDK runtime installed: import from 'xentrop-relay/client'");
  return installed;
}
