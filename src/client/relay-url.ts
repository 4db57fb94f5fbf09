/**
 * Relay endpoints from the base URL an app configures. A base URL may carry a path prefix (a
 * relay behind `https://host/xrelay/`): every endpoint is resolved relative to it, so the prefix
 * is kept for joins, posts, readers and cell sockets alike (`new URL('/v1/...', base)` would drop it).
 */

/** `https://host/prefix` + `v1/media/join` -> `https://host/prefix/v1/media/join`. */
export function relayHttpUrl(base: string, path: string): string {
  const root = new URL(base.endsWith('/') ? base : base + '/');
  root.search = '';
  root.hash = '';
  return new URL(path.replace(/^\/+/, ''), root).toString();
}

/** The same endpoint with ws: / wss: for a WebSocket. */
export function relayWsUrl(base: string, path: string): string {
  return relayHttpUrl(base, path).replace(/^http/, 'ws');
}
