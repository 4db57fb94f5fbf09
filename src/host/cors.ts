/**
 * Browser access to the relay (issue 11): which web origins may call it, and the rules that stop
 * any other web page from making its visitors' browsers act on the relay.
 *
 * - CORS (Fetch standard §3.2): a request whose `Origin` is in `corsOrigins` gets
 *   `Access-Control-Allow-Origin: <that origin>` and `Vary: Origin`; a preflight `OPTIONS` from it
 *   gets the path's methods and the `content-type` request header. Others get no CORS headers.
 * - Browsers send `Origin` on every POST and every WebSocket handshake (RFC 6455 §4.1, §10.2), and
 *   a page cannot forge it. A state-changing request (not GET/HEAD/OPTIONS) or an upgrade whose
 *   `Origin` is not in `corsOrigins` is refused `forbidden` (403): a simple cross-site request,
 *   which skips the preflight, is refused on arrival. There is no "same origin as the Host header"
 *   exception: the relay serves no page of its own, and a page that rebinds its DNS name to the
 *   relay's address would match its own Host (DNS rebinding). Requests without `Origin` (apps,
 *   servers, the Node SDK) are not browsers' and pass.
 * - JSON-only routes (the media join) refuse any other body type with `unsupported_media_type`
 *   (415), so they can never be reached by a CORS "simple" request (text/plain, forms).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigError } from '../config/load.js';
import { RelayError } from '../errors.js';

/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_SEC = 600;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export class BrowserPolicy {
  private readonly origins: ReadonlySet<string>;

  /** `origins`: exact origins (`https://app.example`, `http://127.0.0.1:8080`); throws ConfigError naming `corsOrigins`. */
  constructor(
    origins: readonly string[],
    private readonly jsonOnly: ReadonlySet<string> = new Set(),
  ) {
    for (const o of origins) {
      let u: URL | undefined;
      try {
        u = new URL(o);
      } catch {
        u = undefined;
      }
      if (u === undefined || !/^https?:$/.test(u.protocol) || u.origin !== o) {
        throw new ConfigError('corsOrigins', `corsOrigins: ${JSON.stringify(o)} is not an origin (scheme://host[:port], no path or trailing slash, e.g. https://app.example)`);
      }
    }
    this.origins = new Set(origins);
  }

  /** No Origin (not a browser), or an origin listed in `corsOrigins`. */
  allows(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    return origin === undefined || this.origins.has(origin);
  }

  /**
   * Applies the policy to an HTTP request before routing. `methods`: what the path accepts (empty
   * if no route has it). Returns true when it answered the request itself (a preflight or a refusal).
   */
  handleRequest(req: IncomingMessage, res: ServerResponse, path: string, methods: readonly string[]): boolean {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      res.setHeader('vary', 'Origin');
      if (this.origins.has(origin)) {
        res.setHeader('access-control-allow-origin', origin);
        res.setHeader('access-control-expose-headers', 'Retry-After, Location'); // Location: the WebRTC edge's session URL
      }
    }
    if (req.method === 'OPTIONS' && methods.length > 0) {
      const allow = [...methods, 'OPTIONS'].join(', ');
      const headers: Record<string, string | number> = { allow, 'content-length': 0 };
      if (origin !== undefined && this.origins.has(origin)) {
        headers['access-control-allow-methods'] = allow;
        headers['access-control-allow-headers'] = 'content-type';
        headers['access-control-max-age'] = PREFLIGHT_MAX_AGE_SEC;
      }
      res.writeHead(204, headers).end();
      return true;
    }
    if (!SAFE_METHODS.has(req.method ?? '') && !this.allows(req)) throw new RelayError('forbidden', 'this origin may not call the relay (see corsOrigins)');
    if (req.method === 'POST' && this.jsonOnly.has(path) && !isJson(req.headers['content-type'])) {
      throw new RelayError('unsupported_media_type', 'this endpoint takes application/json');
    }
    return false;
  }
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && contentType.split(';')[0]!.trim().toLowerCase() === 'application/json';
}
