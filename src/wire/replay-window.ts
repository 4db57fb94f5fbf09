/**
 * Anti-replay sliding window over cell counters, after RFC 6479 ("IPsec Anti-Replay Algorithm
 * without Bit Shifting"): a ring of 32-bit blocks indexed by counter, so advancing the window
 * clears whole blocks instead of shifting a bitmap. Counters more than WINDOW_SIZE - 32 behind the
 * highest seen are refused as too old; each counter is accepted once.
 *
 * Check before decrypting (cheap refusal of replays), commit only after the cell authenticated
 * (a forged cell must not move the window). 128 bytes per session; mirrors directly in C.
 */
const BLOCK_BITS = 32;
const BLOCKS = 32;
export const WINDOW_SIZE = BLOCK_BITS * BLOCKS;
/** How far behind the top a counter may be and still be checked against the bitmap. */
export const WINDOW_REACH = WINDOW_SIZE - BLOCK_BITS;

export class ReplayWindow {
  /** Highest accepted counter, -1 before the first. */
  top = -1;
  private readonly bits = new Uint32Array(BLOCKS);

  /** True if `counter` was never accepted and is not too old. */
  check(counter: number): boolean {
    if (counter > this.top) return true;
    if (this.top - counter >= WINDOW_REACH) return false;
    const block = Math.floor(counter / BLOCK_BITS) % BLOCKS;
    return (this.bits[block]! & (1 << (counter % BLOCK_BITS))) === 0;
  }

  /** Marks `counter` as seen (call only after check() and authentication). */
  commit(counter: number): void {
    const block = Math.floor(counter / BLOCK_BITS);
    if (counter > this.top) {
      const topBlock = this.top < 0 ? -1 : Math.floor(this.top / BLOCK_BITS);
      const clear = Math.min(block - topBlock, BLOCKS);
      for (let i = 1; i <= clear; i++) this.bits[(block - clear + i + BLOCKS) % BLOCKS] = 0;
      if (this.top < 0) this.bits.fill(0);
      this.top = counter;
    }
    this.bits[block % BLOCKS]! |= 1 << (counter % BLOCK_BITS);
  }
}
