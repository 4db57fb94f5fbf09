/**
 * Counts of something a client holds open (sockets, requests in progress) per client key (an
 * address, IPv6 by /64), held in memory only: one client cannot hold more than `max`, whatever else
 * it does. Keys holding nothing are forgotten at once, so the map holds only clients active now.
 */
export class SocketSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly max: number) {}

  /** Takes a slot for `key`; false (and nothing taken) when it already holds `max`. */
  tryAcquire(key: string): boolean {
    const n = this.open.get(key) ?? 0;
    if (n >= this.max) return false;
    this.open.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = this.open.get(key);
    if (n === undefined) return;
    if (n <= 1) this.open.delete(key);
    else this.open.set(key, n - 1);
  }

  held(key: string): number {
    return this.open.get(key) ?? 0;
  }

  /** Distinct keys holding at least one slot. */
  get clients(): number {
    return this.open.size;
  }
}
