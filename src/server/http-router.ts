/**
 * The relay's HTTP routing and WebSocket upgrade dispatch: exact or RegExp paths, JSON errors with
 * stable codes, and a request counter labelled by route (never by path parameters).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { RelayError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import type { Counter } from '../observability/metrics.js';
import type { BrowserPolicy } from './cors.js';
import type { HttpHandler, HttpMount } from './plane.js';

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
  /** noServer: we dispatch upgrades by path ourselves. maxPayload bounds any frame we accept. */
  readonly wss: WebSocketServer;

  constructor(
    private readonly logger: Logger,
    private readonly requests: Counter,
    maxPayload: number,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload });
  }

  /** Browser access rules (CORS, Origin checks, JSON-only routes): cors.ts. None: no checks. */
  private policy: BrowserPolicy | undefined;

  usePolicy(policy: BrowserPolicy): void {
    this.policy = policy;
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
    const methods = this.routes.filter((r) => matchPath(r.path, path) !== undefined).map((r) => r.method);
    if (this.policy !== undefined && this.applyPolicy(this.policy, req, res, path, methods)) return;
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
    if (pathMatched) res.setHeader('allow', methods.join(', '));
    sendError(res, pathMatched ? new RelayError('method_not_allowed', 'method not allowed on this path') : new RelayError('not_found', 'no such endpoint'));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const onConnection = this.sockets.get(path);
    if (onConnection === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (this.policy !== undefined && !this.policy.allows(req)) {
      this.requests.inc(1, 'refused');
      const body = JSON.stringify(new RelayError('forbidden', 'this origin may not open WebSockets on the relay (see corsOrigins)').toJSON());
      socket.end(`HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    this.requests.inc(1, `WS ${path}`);
    this.wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  }

  /** True when the policy answered (a preflight) or refused the request. */
  private applyPolicy(policy: BrowserPolicy, req: IncomingMessage, res: ServerResponse, path: string, methods: string[]): boolean {
    try {
      if (!policy.handleRequest(req, res, path, methods)) return false;
      this.requests.inc(1, 'preflight');
    } catch (err) {
      this.requests.inc(1, 'refused');
      sendError(res, err instanceof RelayError ? err : new RelayError('internal', 'internal error'));
    }
    return true;
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
