/**
 * Relay sockets (RFC 8656 section 7.2): one UDP socket per allocation, bound in the configured port
 * range (or an ephemeral port when the range is 0-0), an even port when EVEN-PORT asks for one.
 */
import type { Socket } from 'node:dgram';
import type { RelayBinding } from './core-options.js';
import { bindUdp, closeUdp, createUdpSocket } from './udp-socket.js';

/** Bind attempts before answering 508 Insufficient Capacity. */
const MAX_ATTEMPTS = 64;

export class RelaySockets {
  private readonly inUse = new Set<number>();
  private readonly open = new Set<Socket>();
  private cursor: number;

  constructor(private readonly binding: RelayBinding) {
    const span = binding.portMax - binding.portMin + 1;
    this.cursor = binding.portMin + Math.floor(Math.random() * span);
  }

  get count(): number {
    return this.open.size;
  }

  /** Binds a relay socket; resolves to undefined when no port in the range is free. */
  async bind(even: boolean): Promise<Socket | undefined> {
    const { portMin, portMax, bindIp, family } = this.binding;
    if (portMin === 0) {
      for (let i = 0; i < (even ? MAX_ATTEMPTS : 1); i++) {
        const s = createUdpSocket(family);
        try {
          const port = await bindUdp(s, 0, bindIp);
          if (!even || port % 2 === 0) return this.track(s, port);
        } catch {
          // fall through to close
        }
        await closeUdp(s);
      }
      return undefined;
    }
    // Ports this relay already holds are skipped without counting: only binds that fail (the port
    // is held by another process) count against MAX_ATTEMPTS, so a nearly full range still finds
    // its last free port.
    const span = portMax - portMin + 1;
    let binds = 0;
    for (let scanned = 0; scanned < span && binds < MAX_ATTEMPTS; scanned++) {
      const port = this.cursor;
      this.cursor = this.cursor >= portMax ? portMin : this.cursor + 1;
      if ((even && port % 2 === 1) || this.inUse.has(port)) continue;
      binds++;
      const s = createUdpSocket(family);
      try {
        await bindUdp(s, port, bindIp);
        return this.track(s, port);
      } catch {
        await closeUdp(s);
      }
    }
    return undefined;
  }

  private track(s: Socket, port: number): Socket {
    this.inUse.add(port);
    this.open.add(s);
    return s;
  }

  release(s: Socket): Promise<void> {
    if (!this.open.delete(s)) return Promise.resolve();
    try {
      this.inUse.delete(s.address().port);
    } catch {
      // not bound
    }
    s.removeAllListeners('message');
    return closeUdp(s);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.open].map((s) => this.release(s)));
  }
}
