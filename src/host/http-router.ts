/**
 * The relay's HTTP routing and WebSocket upgrade dispatch: exact or RegExp paths, JSON errors with
 * stable codes, a request counter by method, route and status, and a latency histogram by method and
 * route. Labels come from the registered routes (never from path parameters or the client's path),
 * so the label set is closed: a scan of random paths lands in route="unmatched".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { RelayError } from '../errors.js';
import type { Logger } from '../observability/log.js';
import { errorSummary } from '../observability/error-summary.js';
import type { Counter, Histogram, MetricsRegistry } from '../observability/metrics.js';
import type { BrowserPolicy } from './cors.js';
import type { HttpHandler, HttpMount } from './plane.js';
import { boundDiscard, closeIfBodyTooLong } from './request-body.js';

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

function sendError(res: ServerResponse, err: RelayError): void {
  const headers: Record<string, string> = {};
  if (err.retryAfterSec !== undefined) headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterSec)));
  sendJson(res, err.status, err.toJSON(), headers);
}

/** Request latency buckets, in seconds: 1 ms (a health check) to 10 s (a slow upload). */
const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods kept as a label value; any other is counted as "OTHER" (the label set stays closed). */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

/** The status recorded for a response the client closed before it was sent (nginx's convention). */
const CLIENT_CLOSED_STATUS = 499;

/** A registered route or WebSocket path, as the request metrics label it. */
export interface RouteInfo {
  method: string;
  /** The path, or a RegExp's source with each capture group as `:p` (e.g. `/v1/mailboxes/:p/envelopes`). */
  route: string;
  websocket: boolean;
}

export class HttpRouter implements HttpMount {
  private readonly routes: Route[] = [];
  private readonly requests: Counter;
  private readonly duration: Histogram;
  /** Protocol errors of accepted WebSockets, by the ws library's stable error code. */
  private readonly wsErrors: Counter;
  private readonly sockets = new Map<string, (ws: WebSocket, req: IncomingMessage) => void>();
  /**
   * noServer: we dispatch upgrades by path ourselves. maxPayload bounds any frame we accept (a
   * longer one, whatever its length header claims, is refused with 1009 before its payload is read);
   * closeTimeout bounds how long a socket that never answers our close frame is held.
   */
  readonly wss: WebSocketServer;
  private maxDiscardBytes = 1_048_576;
  private discardOverflows: Counter | undefined;

  constructor(
    private readonly logger: Logger,
    metrics: MetricsRegistry,
    maxPayload: number,
  ) {
    // closeTimeout is a ws 8 server option (8.23 here) that @types/ws does not list yet.
    const options: ServerOptions & { closeTimeout: number } = { noServer: true, maxPayload, closeTimeout: WS_CLOSE_TIMEOUT_MS };
    this.wss = new WebSocketServer(options);
    this.requests = metrics.counter(
      'xrelay_http_requests_total',
      `HTTP requests and WebSocket upgrades (status 101), by method, route and status; route="unmatched" for any path no route serves; status ${CLIENT_CLOSED_STATUS} when the client closed before the answer.`,
      ['method', 'route', 'status'],
    );
    this.wsErrors = metrics.counter(
      'xrelay_ws_protocol_errors_total',
      'WebSocket frames that broke the protocol (the socket is closed with 1002/1007/1009), by ws error code.',
      'code',
    );
    this.duration = metrics.histogram(
      'xrelay_http_request_duration_seconds',
      'Time from an HTTP request\'s headers to its answer sent (or the client gone), by method and route; WebSocket upgrades are not timed.',
      HTTP_DURATION_BUCKETS,
      ['method', 'route'],
    );
  }

  /** Every route and WebSocket path registered so far (the contract test compares them with openapi.yaml). */
  registered(): RouteInfo[] {
    return [
      ...this.routes.map((r) => ({ method: r.method, route: r.label, websocket: false })),
      ...[...this.sockets.keys()].map((path) => ({ method: 'GET', route: path, websocket: true })),
    ];
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

  /**
   * Bodies a handler answered before reading to the end: at most `maxDiscardBytes` more are read
   * and dropped (keep-alive survives), then the connection is closed and `overflows` counted.
   */
  limitBodies(maxDiscardBytes: number, overflows?: Counter): void {
    this.maxDiscardBytes = maxDiscardBytes;
    this.discardOverflows = overflows;
  }

  websocket(path: string, onConnection: (ws: WebSocket, req: IncomingMessage) => void): void {
    this.sockets.set(path, onConnection);
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    closeIfBodyTooLong(req, res, this.maxDiscardBytes);
    res.once('finish', () => boundDiscard(req, this.maxDiscardBytes, () => this.discardOverflows?.inc()));
    if (req.headers.host === undefined && req.httpVersion === '1.1') {
      this.measure(res, methodLabel(req.method), 'unmatched');
      res.setHeader('connection', 'close');
      return sendError(res, new RelayError('bad_request', 'an HTTP/1.1 request needs a Host header'));
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const methods = this.routes.filter((r) => matchPath(r.path, path) !== undefined).map((r) => r.method);
    if (this.policy !== undefined && this.applyPolicy(this.policy, req, res, path, methods)) return;
    let pathMatched = false;
    for (const route of this.routes) {
      const params = matchPath(route.path, path);
      if (params === undefined) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      this.measure(res, route.method, route.label);
      this.run(route, req, res, params);
      return;
    }
    this.measure(res, methodLabel(req.method), 'unmatched');
    if (pathMatched) res.setHeader('allow', methods.join(', '));
    sendError(res, pathMatched ? new RelayError('method_not_allowed', 'method not allowed on this path') : new RelayError('not_found', 'no such endpoint'));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Node drops its own 'error' listener when it hands the socket to 'upgrade': a write to a client
    // that already reset (the 404/403 answers below, ws's handshake) must not end the process.
    socket.on('error', () => socket.destroy());
    const path = (req.url ?? '/').split('?')[0]!;
    const onConnection = this.sockets.get(path);
    if (onConnection === undefined) {
      this.requests.inc(1, [methodLabel(req.method), 'unmatched', '404']);
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      return;
    }
    if (this.policy !== undefined && !this.policy.allows(req)) {
      this.requests.inc(1, [methodLabel(req.method), path, '403']);
      const body = JSON.stringify(new RelayError('forbidden', 'this origin may not open WebSockets on the relay (see corsOrigins)').toJSON());
      socket.end(`HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    // ws refuses a bad handshake itself (400, or 405 for a method other than GET) and closes the
    // socket without calling back: counted when the socket closes un-upgraded.
    let upgraded = false;
    socket.once('close', () => {
      if (!upgraded) this.requests.inc(1, [methodLabel(req.method), path, req.method === 'GET' ? '400' : '405']);
    });
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      this.requests.inc(1, ['GET', path, '101']);
      this.accept(ws, req, path, onConnection);
    });
  }

  /** Counts and times a request when its response is done (sent, or the connection gone). */
  private measure(res: ServerResponse, method: string, route: string): void {
    const started = performance.now();
    res.once('close', () => {
      const status = res.writableFinished ? res.statusCode : CLIENT_CLOSED_STATUS;
      this.requests.inc(1, [method, route, String(status)]);
      this.duration.observe((performance.now() - started) / 1000, [method, route]);
    });
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
      this.wsErrors.inc(1, typeof err.code === 'string' && err.code.startsWith('WS_ERR_') ? err.code : 'other');
    });
    try {
      onConnection(ws, req);
    } catch (err) {
      this.logger.error({ err: errorSummary(err), route: path }, 'websocket handler failed');
      ws.close(1011, 'internal');
    }
  }

  /** True when the policy answered (a preflight) or refused the request. */
  private applyPolicy(policy: BrowserPolicy, req: IncomingMessage, res: ServerResponse, path: string, methods: string[]): boolean {
    try {
      if (!policy.handleRequest(req, res, path, methods)) return false;
      this.measure(res, methodLabel(req.method), 'preflight');
    } catch (err) {
      this.measure(res, methodLabel(req.method), 'refused');
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

function methodLabel(method: string | undefined): string {
  return method !== undefined && KNOWN_METHODS.has(method) ? method : 'OTHER';
}

function matchPath(pattern: string | RegExp, path: string): string[] | undefined {
  if (typeof pattern === 'string') return pattern === path ? [] : undefined;
  const m = pattern.exec(path);
  return m === null ? undefined : m.slice(1).map((s) => s ?? '');
}
