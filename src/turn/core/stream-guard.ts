/**
 * Admission and idle policy for TURN's stream connections (TCP and TLS, RFC 8656 section 3.1),
 * sans-IO: the host tells it about connections, allocations and the time; it answers which
 * connection to close. Nothing here reads a clock or touches a socket.
 *
 * - A connection that holds no allocation lives at most `idleMs` from the moment it opened (the TLS
 *   handshake included) or last held one, whatever it sends: a TURN client allocates within a few
 *   round trips, and a connection that sends nothing, or trickles a frame, or pings with Binding
 *   requests, cannot sit on a slot. An allocation keeps its connection for its own lifetime
 *   (RFC 8656 lifetimes and Refresh).
 * - At most `maxPerAddress` connections per source address (an IPv6 source counts by its /64, the
 *   unit one subscriber gets), and `maxConnections` in all.
 * - At either cap a new connection does not get refused while an allocation-less connection is
 *   there to make room: the one that has gone longest without an allocation (at that address for
 *   the per-address cap, anywhere for the total) is evicted. Refusing instead would let whoever
 *   holds the slots lock every later client out, which is the attack; evicting means an attacker
 *   must outpace honest handshakes with a stream of new connections from many addresses, and even
 *   then never touches a connection that holds an allocation. Only when every connection at the cap
 *   holds an allocation is the new one refused.
 */
import { parseIp } from '../codec/ip.js';

export interface StreamGuardOptions {
  readonly maxConnections: number;
  readonly maxPerAddress: number;
  /** How long a connection may go without an allocation. */
  readonly idleMs: number;
}

/** What `admit` decided: `admitted` false means refuse; `evict` names a connection to close first. */
export interface Admission {
  readonly admitted: boolean;
  readonly evict?: string;
}

interface Entry {
  readonly key: string;
  readonly address: Address;
  held: boolean;
  /** When it opened or last lost its allocation (meaningful while !held). */
  since: number;
}

interface Address {
  readonly id: string;
  count: number;
  /** Its connections without an allocation, oldest `since` first (insertion order). */
  readonly idle: Map<string, Entry>;
}

const REFUSED: Admission = { admitted: false };
const ADMITTED: Admission = { admitted: true };

export class StreamGuard {
  private readonly entries = new Map<string, Entry>();
  /** All connections without an allocation, oldest `since` first (times are fed in order). */
  private readonly idle = new Map<string, Entry>();
  private readonly addresses = new Map<string, Address>();
  private readonly scratch = new Uint8Array(16);

  constructor(private readonly opts: StreamGuardOptions) {}

  get count(): number {
    return this.entries.size;
  }

  /** Connections from the address (or IPv6 /64) of `ip`. */
  countFor(ip: string): number {
    return this.addresses.get(this.addressId(ip))?.count ?? 0;
  }

  /** A new connection `key` from `ip`: admit (maybe evicting one first) or refuse. */
  admit(key: string, ip: string, nowMs: number): Admission {
    const id = this.addressId(ip);
    let address = this.addresses.get(id);
    let victim: Entry | undefined;
    if (address !== undefined && address.count >= this.opts.maxPerAddress) {
      victim = first(address.idle);
      if (victim === undefined) return REFUSED;
    } else if (this.entries.size >= this.opts.maxConnections) {
      victim = first(this.idle);
      if (victim === undefined) return REFUSED;
    }
    if (victim !== undefined) this.remove(victim.key);
    if (address === undefined || address.count === 0) {
      address = this.addresses.get(id) ?? { id, count: 0, idle: new Map() };
      this.addresses.set(id, address);
    }
    const entry: Entry = { key, address, held: false, since: nowMs };
    this.entries.set(key, entry);
    address.count++;
    this.idle.set(key, entry);
    address.idle.set(key, entry);
    return victim === undefined ? ADMITTED : { admitted: true, evict: victim.key };
  }

  /** The connection now holds an allocation: no idle deadline, never evicted. */
  allocated(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined || e.held) return;
    e.held = true;
    this.idle.delete(key);
    e.address.idle.delete(key);
  }

  /** Its allocation ended (expired, deleted): the idle clock starts again from `nowMs`. */
  released(key: string, nowMs: number): void {
    const e = this.entries.get(key);
    if (e === undefined || !e.held) return;
    e.held = false;
    e.since = nowMs;
    this.idle.set(key, e);
    e.address.idle.set(key, e);
  }

  /** The connection closed (for any reason). Unknown keys are ignored. */
  remove(key: string): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    this.entries.delete(key);
    this.idle.delete(key);
    e.address.idle.delete(key);
    if (--e.address.count === 0) this.addresses.delete(e.address.id);
  }

  /** Removes the connections past their idle deadline at `nowMs` and returns their keys. */
  expire(nowMs: number): string[] {
    const out: string[] = [];
    for (const e of this.idle.values()) {
      if (e.since + this.opts.idleMs > nowMs) break;
      out.push(e.key);
    }
    for (const key of out) this.remove(key);
    return out;
  }

  /** When the next idle deadline falls (Infinity when no connection is without an allocation). */
  nextDeadline(): number {
    const e = first(this.idle);
    return e === undefined ? Infinity : e.since + this.opts.idleMs;
  }

  /** IPv4 (also IPv4-mapped) as is; IPv6 by its /64. */
  private addressId(ip: string): string {
    const n = parseIp(ip, this.scratch);
    const b = this.scratch;
    if (n === 4) return ip;
    if (n !== 16) return ip;
    if (b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0 && b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] === 0 && b[8] === 0 && b[9] === 0 && b[10] === 0xff && b[11] === 0xff) {
      return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    }
    return Buffer.from(b.subarray(0, 8)).toString('hex') + '/64';
  }
}

function first(map: Map<string, Entry>): Entry | undefined {
  for (const e of map.values()) return e;
  return undefined;
}
