/**
 * RFC 8656 section 2.2 and sections 7-9: an allocation's state, its permissions (per peer IP,
 * section 9) and channels (per peer transport address, section 12), with expiry times in ms from the
 * caller's clock.
 */
import type { ClientRef } from './types.js';

export const AllocationState = { opening: 0, open: 1, closed: 2 } as const;

export class Channel {
  constructor(
    readonly number: number,
    readonly ip: string,
    readonly port: number,
    public expiresAt: number,
  ) {}
}

export class Allocation {
  state: number = AllocationState.opening;
  relayPort = 0;
  /** The host's relay socket; opaque to the core. */
  relay: unknown = undefined;
  /** Peer IP -> permission expiry (ms). */
  readonly permissions = new Map<string, number>();
  readonly channels = new Map<number, Channel>();
  /** Peer port -> peer IP -> channel: nested so the per-packet lookup builds no key string. */
  private readonly channelsByPeer = new Map<number, Map<string, Channel>>();
  /** The Allocate transaction (for retransmissions) and its cached success response. */
  allocateResponse: Buffer | undefined = undefined;

  constructor(
    readonly id: number,
    readonly client: ClientRef,
    readonly username: string,
    readonly key: Buffer,
    readonly useSha256: boolean,
    readonly family: 4 | 6,
    readonly allocateTid: Buffer,
    public expiresAt: number,
  ) {}

  hasPermission(ip: string, nowMs: number): boolean {
    const exp = this.permissions.get(ip);
    return exp !== undefined && exp > nowMs;
  }

  channelForPeer(ip: string, port: number): Channel | undefined {
    return this.channelsByPeer.get(port)?.get(ip);
  }

  bindChannel(number: number, ip: string, port: number, expiresAt: number): void {
    const existing = this.channels.get(number);
    if (existing) {
      existing.expiresAt = expiresAt;
      return;
    }
    const ch = new Channel(number, ip, port, expiresAt);
    this.channels.set(number, ch);
    let byIp = this.channelsByPeer.get(port);
    if (!byIp) this.channelsByPeer.set(port, (byIp = new Map()));
    byIp.set(ip, ch);
  }

  /** Drops expired permissions and channels; returns the earliest remaining expiry (or Infinity). */
  prune(nowMs: number): number {
    let next = Infinity;
    for (const [ip, exp] of this.permissions) {
      if (exp <= nowMs) this.permissions.delete(ip);
      else if (exp < next) next = exp;
    }
    for (const [num, ch] of this.channels) {
      if (ch.expiresAt <= nowMs) {
        this.channels.delete(num);
        const byIp = this.channelsByPeer.get(ch.port);
        byIp?.delete(ch.ip);
        if (byIp?.size === 0) this.channelsByPeer.delete(ch.port);
      } else if (ch.expiresAt < next) next = ch.expiresAt;
    }
    return next;
  }
}
