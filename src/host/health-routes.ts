/** /healthz (the process answers), /readyz (every plane ready) and /metrics (addresses in metricsAllow only). */
import type { ClientAddressOf } from '../limits/client-address.js';
import { RelayError } from '../errors.js';
import type { MetricsRegistry } from '../observability/metrics.js';
import { sendJson, type HttpRouter } from './http-router.js';
import type { Plane } from './plane.js';

export interface HealthRouteDeps {
  /** The planes started so far (read at each request). */
  planes: readonly Plane[];
  metrics: MetricsRegistry;
  clientAddress: ClientAddressOf;
  metricsAllowed: (address: string) => boolean;
}

export function mountHealthRoutes(router: HttpRouter, deps: HealthRouteDeps): void {
  router.route('GET', '/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));
  router.route('GET', '/readyz', (_req, res) => {
    const notReady = deps.planes.filter((p) => !p.ready()).map((p) => p.name);
    sendJson(res, notReady.length === 0 ? 200 : 503, notReady.length === 0 ? { status: 'ready' } : { status: 'not_ready', planes: notReady });
  });
  router.route('GET', '/metrics', (req, res) => {
    if (!deps.metricsAllowed(deps.clientAddress(req))) throw new RelayError('forbidden', 'this address may not read /metrics (see metricsAllow)');
    const text = deps.metrics.render();
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  });
}
