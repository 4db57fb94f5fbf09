/**
 * A bounded FIFO of records waiting for a receiver's next cell: a fixed ring of (sender slot,
 * payload view, enqueue time). When full, the oldest record is dropped to make room (old media
 * is worth less than new media); records older than the age bound are dropped when packing.
 * Payloads are views into the sender's decrypted cell, shared by every receiver: no copy per
 * receiver. Fixed arrays per session so the native plane can mirror it as a struct.
 */
export class RecordQueue {
  private readonly slots: Uint16Array;
  private readonly times: Float64Array;
  private readonly payloads: Array<Uint8Array | undefined>;
  private head = 0;
  size = 0;

  constructor(readonly capacity: number) {
    this.slots = new Uint16Array(capacity);
    this.times = new Float64Array(capacity);
    this.payloads = new Array<Uint8Array | undefined>(capacity).fill(undefined);
  }

  /** Appends a record; returns 1 if the oldest one had to be dropped, else 0. */
  push(slot: number, payload: Uint8Array, nowMs: number): number {
    let dropped = 0;
    if (this.size === this.capacity) {
      this.shift();
      dropped = 1;
    }
    const i = (this.head + this.size) % this.capacity;
    this.slots[i] = slot;
    this.times[i] = nowMs;
    this.payloads[i] = payload;
    this.size++;
    return dropped;
  }

  peekSlot(): number {
    return this.slots[this.head]!;
  }

  peekPayload(): Uint8Array {
    return this.payloads[this.head]!;
  }

  peekTime(): number {
    return this.times[this.head]!;
  }

  shift(): void {
    this.payloads[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
  }

  clear(): void {
    while (this.size > 0) this.shift();
  }
}
