/**
 * What the composition root hands each plane (envelope, media, TURN), and what a plane gives back.
 * Planes never open the HTTP listener themselves: they mount routes and WebSocket paths on the
 * relay's one HTTP(S) server, and own only their own UDP/TCP sockets.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import type { RelayConfig } from '../config/schema.js';
import type { Logger, Redactor } from '../observability/log.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import type { ClientAddressOf } from '../limits/client-address.js';

/**
 * An HTTP handler. Throwing (or rejecting with) a RelayError answers with its status and the JSON
 * body `{"error":{"code","message"}}`; any other throw answers 500 `internal` and is logged.
 */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse, params: readonly string[]) => void | Promise<void>;

export interface HttpMount {
  /** `path` is exact, or a RegExp whose capture groups become `params`. */
  route(method: string, path: string | RegExp, handler: HttpHandler): void;
  /**
   * Accept WebSocket upgrades on an exact path. The router gives every accepted socket an 'error'
   * listener (protocol errors are counted and closed with their RFC 6455 code) before `onConnection`
   * runs, so a route need not add one to keep the process alive; a throwing `onConnection` closes
   * the socket with 1011.
   */
  websocket(path: string, onConnection: (ws: WebSocket, req: IncomingMessage) => void): void;
}

export interface PlaneContext {
  readonly config: RelayConfig;
  readonly logger: Logger;
  readonly redactor: Redactor;
  readonly metrics: MetricsRegistry;
  readonly http: HttpMount;
  /** The address rate limits key a request by (config `trustProxy`); default: the socket's peer. */
  readonly clientAddress?: ClientAddressOf;
  /** True while the node is draining (`xrelay drain`): it takes no new rooms; its calls go on. Default: never. */
  readonly draining?: () => boolean;
}

export interface Plane {
  readonly name: string;
  /** True once the plane can serve (e.g. its store is open); drives GET /readyz. */
  ready(): boolean;
  /** Called once the HTTP server listens, with its URL (a cluster node registers itself then). */
  listening?(url: string): Promise<void>;
  /** Stop accepting, finish in-flight work, release sockets and files. Idempotent. */
  close(): Promise<void>;
}
