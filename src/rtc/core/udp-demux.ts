/**
 * The demultiplexing table of the WebRTC edge's one UDP port (sans-IO; the socket is
 * server/udp-mux.ts's). Sessions are found by their local ICE ufrag (what a connectivity check's
 * USERNAME names first, RFC 8445 §7.2.2); a remote 5-tuple is latched to a session once a check
 * from it authenticated with that session's password, and every later datagram from that 5-tuple
 * goes to that session (DTLS and SRTP carry no session id: RFC 7983 §7, RFC 8445 §12).
 *
 * Bounds: at most `maxTuplesPerSession` 5-tuples per session (a client's candidate pairs: host,
 * server-reflexive, relayed; a NAT rebinding). A check from one more evicts the session's least
 * recently used 5-tuple (the nominated pair carries media and is never it). A 5-tuple belongs to
 * one session: a check that authenticates for another session moves it there.
 *
 * The per-datagram lookup is two Map reads (address, then port): no key string is built.
 */

export interface DemuxTuple<S> {
  readonly address: string;
  readonly port: number;
  /** werift's address form, made once per 5-tuple (not per datagram). */
  readonly addr: [string, number];
  session: DemuxSession<S>;
  /** Last use, in the table's own datagram count (no clock on the packet path). */
  seen: number;
}

export interface DemuxSession<S> {
  readonly ufrag: string;
  readonly value: S;
  readonly tuples: DemuxTuple<S>[];
  live: boolean;
}

export class UdpDemux<S> {
  private readonly byUfrag = new Map<string, DemuxSession<S>>();
  private readonly byAddress = new Map<string, Map<number, DemuxTuple<S>>>();
  private clock = 0;
  private tuples = 0;

  constructor(private readonly maxTuplesPerSession: number) {
    if (!(maxTuplesPerSession >= 1)) throw new RangeError('maxTuplesPerSession must be at least 1');
  }

  get sessionCount(): number {
    return this.byUfrag.size;
  }

  get tupleCount(): number {
    return this.tuples;
  }

  /** Registers a session under `ufrag`; undefined when that ufrag is taken (draw another). */
  add(ufrag: string, value: S): DemuxSession<S> | undefined {
    if (this.byUfrag.has(ufrag)) return undefined;
    const s: DemuxSession<S> = { ufrag, value, tuples: [], live: true };
    this.byUfrag.set(ufrag, s);
    return s;
  }

  /** Forgets a session and its 5-tuples (idempotent). */
  remove(s: DemuxSession<S>): void {
    if (!s.live) return;
    s.live = false;
    this.byUfrag.delete(s.ufrag);
    for (const t of s.tuples) this.unindex(t);
    s.tuples.length = 0;
  }

  session(ufrag: string): DemuxSession<S> | undefined {
    return this.byUfrag.get(ufrag);
  }

  /** The latched 5-tuple of a datagram from `address`:`port`, marked used; undefined when none. */
  find(address: string, port: number): DemuxTuple<S> | undefined {
    const t = this.byAddress.get(address)?.get(port);
    if (t !== undefined) t.seen = ++this.clock;
    return t;
  }

  /**
   * Latches `address`:`port` to `s` (after a check from it authenticated for `s`): a 5-tuple of
   * another session moves; a session at its bound loses its least recently used 5-tuple. Returns
   * the tuple and whether one was evicted for it.
   */
  latch(s: DemuxSession<S>, address: string, port: number): { tuple: DemuxTuple<S>; evicted: boolean } {
    const had = this.byAddress.get(address)?.get(port);
    if (had !== undefined) {
      had.seen = ++this.clock;
      if (had.session === s) return { tuple: had, evicted: false };
      detach(had);
      this.unindex(had);
    }
    let evicted = false;
    if (s.tuples.length >= this.maxTuplesPerSession) {
      let lru = s.tuples[0]!;
      for (const t of s.tuples) if (t.seen < lru.seen) lru = t;
      detach(lru);
      this.unindex(lru);
      evicted = true;
    }
    const tuple: DemuxTuple<S> = { address, port, addr: [address, port], session: s, seen: ++this.clock };
    s.tuples.push(tuple);
    let ports = this.byAddress.get(address); // after unindexing: an emptied map is gone
    if (ports === undefined) {
      ports = new Map();
      this.byAddress.set(address, ports);
    }
    ports.set(port, tuple);
    this.tuples++;
    return { tuple, evicted };
  }

  private unindex(t: DemuxTuple<S>): void {
    const ports = this.byAddress.get(t.address);
    if (ports?.get(t.port) !== t) return;
    ports.delete(t.port);
    if (ports.size === 0) this.byAddress.delete(t.address);
    this.tuples--;
  }
}

function detach<S>(t: DemuxTuple<S>): void {
  const list = t.session.tuples;
  const i = list.indexOf(t);
  if (i >= 0) list.splice(i, 1);
}
