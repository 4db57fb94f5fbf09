/**
 * /healthz (the process answers), /readyz (every plane ready, not draining), /metrics and the drain
 * switch `POST|DELETE /v1/admin/drain` (addresses in metricsAllow only, like /metrics, and never a
 * request with an Origin header: a browser's, even from an origin listed in corsOrigins).
 */
import type { ClientAddressOf } from '../limits/client-address.js';
import { RelayError } from '../errors.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { sendJson, type HttpRouter } from './http-router.js';
import type { HttpHandler, Plane } from './plane.js';

export interface HealthRouteDeps {
  /** The planes started so far (read at each request). */
  planes: readonly Plane[];
  metrics: MetricsRegistry;
  clientAddress: ClientAddressOf;
  metricsAllowed: (address: string) => boolean;
  /** The node's drain state (`xrelay drain`): read by /healthz and /readyz, set by the admin route. */
  drain: { draining: boolean; onChange?: (draining: boolean) => void };
}

export const DRAIN_PATH = '/v1/admin/drain';

export function mountHealthRoutes(router: HttpRouter, deps: HealthRouteDeps): void {
  router.route('GET', '/healthz', (_req, res) => sendJson(res, 200, deps.drain.draining ? { status: 'ok', draining: true } : { status: 'ok' }));
  router.route('GET', '/readyz', (_req, res) => {
    const notReady = deps.planes.filter((p) => !p.ready()).map((p) => p.name);
    if (notReady.length > 0) sendJson(res, 503, { status: 'not_ready', planes: notReady });
    // A load balancer stops sending new work here; calls already here go on (their clients talk to this node directly).
    else if (deps.drain.draining) sendJson(res, 503, { status: 'draining' });
    else sendJson(res, 200, { status: 'ready' });
  });
  const drainSwitch = (on: boolean): HttpHandler => (req, res) => {
    req.resume();
    // Never a browser's: a page of a listed origin opened on an allowed address must not drain the node.
    if (req.headers.origin !== undefined) throw new RelayError('forbidden', 'the drain switch takes no browser requests');
    if (!deps.metricsAllowed(deps.clientAddress(req))) throw new RelayError('forbidden', 'this address may not drain the node (see metricsAllow)');
    if (deps.drain.draining !== on) {
      deps.drain.draining = on;
      deps.drain.onChange?.(on);
    }
    sendJson(res, 200, { draining: on });
  };
  router.route('POST', DRAIN_PATH, drainSwitch(true));
  router.route('DELETE', DRAIN_PATH, drainSwitch(false));
  router.route('GET', '/metrics', (req, res) => {
    if (!deps.metricsAllowed(deps.clientAddress(req))) throw new RelayError('forbidden', 'this address may not read /metrics (see metricsAllow)');
    const text = deps.metrics.render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
}
