/**
 * At most `max` concurrent TCP connections per client address on the HTTP/WebSocket port, so one
 * address cannot hold every file descriptor. Keyed like the rate limits (IPv4 address, IPv6 /64),
 * in memory only. Trusted proxies (trustProxy) are exempt: every client behind them shares their
 * address, and the per-request limits see the real client through X-Forwarded-For.
 */
import { isIP, type Socket } from 'node:net';
import { addressMatcher, rateLimitKey } from './client-address.js';

export class ConnectionCap {
  private readonly open = new Map<string, number>();
  private readonly exempt: (ip: string) => boolean;

  constructor(
    private readonly max: number,
    trustProxy: readonly string[],
    private readonly onRefused: () => void,
  ) {
    this.exempt = addressMatcher(trustProxy);
  }

  /** A `connection` listener: counts the socket until it closes, or destroys it when its address is at the cap. */
  readonly admit = (socket: Socket): void => {
    const ip = socket.remoteAddress;
    if (ip === undefined || this.exempt(ip)) return;
    const key = rateLimitKey(ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip);
    const n = this.open.get(key) ?? 0;
    if (n >= this.max) {
      this.onRefused();
      socket.destroy();
      return;
    }
    this.open.set(key, n + 1);
    socket.once('close', () => {
      const left = (this.open.get(key) ?? 1) - 1;
      if (left === 0) this.open.delete(key);
      else this.open.set(key, left);
    });
  };

  /** Addresses currently holding at least one connection (for tests and a gauge). */
  get addresses(): number {
    return this.open.size;
  }
}
