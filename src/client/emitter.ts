/**
 * A small typed event emitter on web-standard JavaScript (no node:events), with the event-map
 * style of mediasoup (`{ frame: [CallFrame] }`). Listeners run synchronously in the order added;
 * no event name is special (there is no throwing 'error' event).
 */
type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<E extends { [K in keyof E]: unknown[] }> {
  private readonly listeners = new Map<keyof E, Array<Listener<never[]>>>();

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as unknown as Listener<never[]>);
    this.listeners.set(event, list);
    return this;
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const wrapped = (...args: E[K]): void => {
      this.off(event, wrapped);
      listener(...args);
    };
    (wrapped as { original?: unknown }).original = listener;
    return this.on(event, wrapped);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    const list = this.listeners.get(event);
    if (list === undefined) return this;
    const i = list.findIndex((l) => l === (listener as unknown) || (l as { original?: unknown }).original === listener);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.listeners.get(event)?.length ?? 0;
  }

  /**
   * Events announced while held wait in order (a call's `join()` is still running, so its caller
   * cannot have subscribed yet); `releaseHeldEvents` delivers them on the next task.
   */
  private held: Array<() => void> | undefined;

  /** From now on `announce` queues instead of emitting, until `releaseHeldEvents`. */
  protected holdEvents(): void {
    this.held ??= [];
  }

  /** Delivers the held events after the caller had a chance to subscribe; then `announce` emits at once. */
  protected releaseHeldEvents(): void {
    setTimeout(() => {
      const held = this.held ?? [];
      this.held = undefined;
      for (const deliver of held) deliver();
    }, 0);
  }

  /** Emits now, or queues while held. No closure once released (hot: every frame of a call). */
  protected announce<K extends keyof E>(event: K, ...args: E[K]): void {
    if (this.held === undefined) this.emit(event, ...args);
    else this.held.push(() => void this.emit(event, ...args));
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): boolean {
    const list = this.listeners.get(event);
    if (list === undefined || list.length === 0) return false;
    for (const l of list.length === 1 ? list : list.slice()) (l as unknown as Listener<E[K]>)(...args);
    return true;
  }
}
