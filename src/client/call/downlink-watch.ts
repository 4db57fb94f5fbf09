/**
 * Downlink liveness of a UDP path, sans-IO (times are passed in): the trigger of mid-call failover
 * to the WebSocket (docs/PROTOCOL.md §12). Hop padding makes the relay send every session exactly
 * one cell per tick, so a window without any valid cell means the path is broken, not that the
 * room is quiet.
 */

/** Default silence window: ten ticks, at least 300 ms. */
export function defaultSilenceMs(tickMs: number): number {
  return Math.max(10 * tickMs, 300);
}

export class DownlinkWatch {
  private lastHeard = NaN;
  private lastCheck = NaN;

  /** `silenceMs` <= 0 never reports silence. */
  constructor(readonly silenceMs: number) {}

  /** A valid cell was accepted at `nowMs`. */
  heard(nowMs: number): void {
    this.lastHeard = nowMs;
  }

  /** Starts counting afresh at `nowMs` (after a failed switch: wait a whole window again). */
  restart(nowMs: number): void {
    this.lastHeard = nowMs;
  }

  /** Ms since the last valid cell (NaN before the first). */
  silentFor(nowMs: number): number {
    return nowMs - this.lastHeard;
  }

  /**
   * Called at every tick: true when no valid cell came for a whole window. Silence counts only
   * after a first cell (the join-time UDP probe covers the rest), and a check that comes more than
   * half a window after the previous one never reports it: the process was not running (a GC pause,
   * a blocked event loop), so cells may still wait unread in the socket; the next check, on time
   * and after the socket was read, decides.
   */
  silent(nowMs: number): boolean {
    const gap = nowMs - this.lastCheck;
    this.lastCheck = nowMs;
    if (this.silenceMs <= 0 || Number.isNaN(this.lastHeard) || !(gap <= this.silenceMs / 2)) return false;
    return nowMs - this.lastHeard >= this.silenceMs;
  }
}
