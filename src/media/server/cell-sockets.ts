/**
 * The `/v1/media/cells` WebSockets the media plane holds, with their bounds: at most
 * `maxPerAddress` open at once per client address (rate-limit key: IPv4 address, IPv6 /64), and
 * the time of each socket's last accepted cell so that sockets carrying no live session are closed
 * after media.idleTimeoutMs. Addresses are held in memory only, never logged. Time is passed in.
 */
import type { WebSocket } from 'ws';

/** WebSocket close code for a relay error of HTTP status `status` (the envelope plane's convention). */
export function closeCodeFor(status: number): number {
  return 4000 + status;
}

export interface CellSocket {
  readonly key: string;
  /** Open time, then the time of the last cell the data plane accepted on this socket. */
  lastAcceptedMs: number;
}

export class CellSockets {
  private readonly open_ = new Map<WebSocket, CellSocket>();
  private readonly perKey = new Map<string, number>();
  /** Sockets refused because their address held maxPerAddress already. */
  refused = 0;

  constructor(private readonly maxPerAddress: number) {}

  get size(): number {
    return this.open_.size;
  }

  /** Admits `ws` from client `key`, or undefined (counted) when that address is at its cap. */
  open(ws: WebSocket, key: string, nowMs: number): CellSocket | undefined {
    const n = this.perKey.get(key) ?? 0;
    if (n >= this.maxPerAddress) {
      this.refused++;
      return undefined;
    }
    this.perKey.set(key, n + 1);
    const c = { key, lastAcceptedMs: nowMs };
    this.open_.set(ws, c);
    return c;
  }

  close(ws: WebSocket): void {
    const c = this.open_.get(ws);
    if (c === undefined) return;
    this.open_.delete(ws);
    const n = (this.perKey.get(c.key) ?? 1) - 1;
    if (n <= 0) this.perKey.delete(c.key);
    else this.perKey.set(c.key, n);
  }

  /** Calls `end` for every socket whose last accepted cell is older than `beforeMs`. */
  closeIdle(beforeMs: number, end: (ws: WebSocket) => void): void {
    for (const [ws, c] of this.open_) if (c.lastAcceptedMs < beforeMs) end(ws);
  }

  terminateAll(): void {
    for (const ws of this.open_.keys()) ws.terminate();
    this.open_.clear();
    this.perKey.clear();
  }
}
