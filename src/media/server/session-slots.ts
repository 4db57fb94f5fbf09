/**
 * Media sessions per client address (media.maxSessionsPerAddress): a join takes a slot of its
 * address before any key work, binds it to the session index it got, and the slot comes back when
 * that session closes (leave, idle timeout, shutdown) or when the join fails. One address cannot
 * hold all of the relay's sessions (maxSessions), whatever its join rate.
 */
import { SocketSlots } from '../../limits/socket-slots.js';

export class SessionSlots {
  private readonly slots: SocketSlots;
  /** Session index -> the client key whose slot it holds. */
  private readonly holders = new Map<number, string>();

  constructor(maxPerAddress: number) {
    this.slots = new SocketSlots(maxPerAddress);
  }

  /** A slot of `key`, or undefined when it holds all of its own. */
  take(key: string): { bind(index: number): void; release(): void } | undefined {
    if (!this.slots.tryAcquire(key)) return undefined;
    let settled = false;
    return {
      bind: (index) => {
        if (settled) return;
        settled = true;
        const previous = this.holders.get(index);
        if (previous !== undefined) this.slots.release(previous); // a close we missed must not leak a slot
        this.holders.set(index, key);
      },
      release: () => {
        if (settled) return;
        settled = true;
        this.slots.release(key);
      },
    };
  }

  /** The session at `index` closed: its address gets the slot back. */
  closed(index: number): void {
    const key = this.holders.get(index);
    if (key === undefined) return;
    this.holders.delete(index);
    this.slots.release(key);
  }

  /** Sessions held by `key` (tests, metrics). */
  held(key: string): number {
    return this.slots.held(key);
  }
}
