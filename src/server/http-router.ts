/**
 * The relay's HTTP routing and WebSocket upgrade dispatch: exact or RegExp paths, JSON errors with
 * stable codes, and a request counter labelled by route (never by path parameters).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { RelayError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Counter } from '../observability/metrics.js';
import type { HttpHandler, HttpMount } from './plane.js';

/** A peer that does not answer our close frame within this is dropped (ws's default is 30 s). */
const WS_CLOSE_TIMEOUT_MS = 5000;

interface Route {
  method: string;
  path: string | RegExp;
  handler: HttpHandler;
  label: string;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: RelayError): void {
  const headers: Record<string, string> = {};
  if (err.retryAfterSec !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSec)));
  sendJson(res, err.status, err.toJSON(), headers);
}

export class HttpRouter implements HttpMount {
  private readonly routes: Route[] = [];
  private readonly sockets = new Map<string, (ws: WebSocket, req: IncomingMessage) => void>();
  /**
   * noServer: we dispatch upgrades by path ourselves. maxPayload bounds any frame we accept (a
   * longer one, whatever its length header claims, is refused with 1009 before its payload is read);
   * closeTimeout bounds how long a socket that never answers our close frame is held.
   */
  readonly wss: WebSocketServer;

  /** `wsErrors`: protocol errors of accepted WebSockets, by the ws library's stable error code. */
  constructor(
    private readonly logger: Logger,
    private readonly requests: Counter,
    maxPayload: number,
    private readonly wsErrors?: Counter,
  ) {
    // closeTimeout is a ws 8 server option (8.23 here) that @types/ws does not list yet.
    const options: ServerOptions & { closeTimeout: number } = { noServer: true, maxPayload, closeTimeout: WS_CLOSE_TIMEOUT_MS };
    this.wss = new WebSocketServer(options);
  }

  route(method: string, path: string | RegExp, handler: HttpHandler): void {
    const label = typeof path === 'string' ? path : path.source.replace(/\([^)]*\)/g, ':p').replace(/[\\^$]/g, '');
    this.routes.push({ method, path, handler, label });
  }

  websocket(path: string, onConnection: (ws: WebSocket, req: IncomingMessage) => void): void {
    this.sockets.set(path, onConnection);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchPath(route.path, path);
      if (params === undefined) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      this.requests.inc(1, `${route.method} ${route.label}`);
      this.run(route, req, res, params);
      return;
    }
    this.requests.inc(1, 'unmatched');
    sendError(res, pathMatched ? new RelayError('method_not_allowed', 'method not allowed on this path') : new RelayError('not_found', 'no such endpoint'));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const onConnection = this.sockets.get(path);
    if (onConnection === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    this.requests.inc(1, `WS ${path}`);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, path, onConnection));
  }

  /**
   * Every accepted WebSocket gets an 'error' listener before its route sees it, so no frame can
   * raise an unhandled 'error' and end the process, whatever the route does. A protocol error
   * (unmasked frame, reserved opcode or RSV bit, invalid UTF-8, bad close code, frame over
   * maxPayload) has already made ws send the close code RFC 6455 section 7.4.1 names (1002, 1007,
   * 1009) and stop reading; here it is only counted. A route that throws closes its socket with 1011.
   */
  private accept(ws: WebSocket, req: IncomingMessage, path: string, onConnection: (ws: WebSocket, req: IncomingMessage) => void): void {
    ws.on('error', (err: Error & { code?: unknown }) => {
      this.wsErrors?.inc(1, typeof err.code === 'string' && err.code.startsWith('WS_ERR_') ? err.code : 'other');
    });
    try {
      onConnection(ws, req);
    } catch (err) {
      this.logger.error({ err: errorSummary(err), route: path }, 'websocket handler failed');
      ws.close(1011, 'internal');
    }
  }

  private run(route: Route, req: IncomingMessage, res: ServerResponse, params: string[]): void {
    const fail = (err: unknown): void => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof RelayError) return sendError(res, err);
      this.logger.error({ err: errorSummary(err), route: route.label }, 'handler failed');
      sendError(res, new RelayError('internal', 'internal error'));
    };
    try {
      const out = route.handler(req, res, params);
      if (out instanceof Promise) out.catch(fail);
    } catch (err) {
      fail(err);
    }
  }
}

function matchPath(pattern: string | RegExp, path: string): string[] | undefined {
  if (typeof pattern === 'string') return pattern === path ? [] : undefined;
  const m = pattern.exec(path);
  return m === null ? undefined : m.slice(1).map((s) => s ?? '');
}

/** An error as it may be logged: its class and message only, never request data. */
export function errorSummary(err: unknown): { type: string; message: string } {
  if (err instanceof Error) return { type: err.name, message: err.message };
  return { type: typeof err, message: String(err) };
}
