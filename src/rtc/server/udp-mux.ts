/**
 * The WebRTC edge's one UDP port: every session's ICE, DTLS and SRTP arrive on one socket and are
 * demultiplexed here (docs/RTC.md, "Transport and ports"). A datagram from a latched 5-tuple goes
 * to its session; from any other 5-tuple only an authenticated ICE check gets in (it latches the
 * 5-tuple). Everything else is dropped here and counted in `xrelay_rtc_dropped_total{reason}`:
 *
 * - `stun_malformed`: first byte 0..3 (RFC 7983 §7) but not a well-formed STUN message, or a
 *   FINGERPRINT that does not match (RFC 8489 §14.7);
 * - `stun_unknown_ufrag`: a STUN request whose USERNAME names no live session (or has none);
 * - `stun_bad_integrity`: a STUN request naming a session whose MESSAGE-INTEGRITY is missing or
 *   does not verify with that session's password (RFC 8489 §14.5), on any 5-tuple;
 * - `unknown_source`: anything else from a 5-tuple no check latched (DTLS, RTP, STUN responses);
 * - `dtls_malformed`: a DTLS-range datagram on a latched 5-tuple that is not whole DTLS 1.2 records;
 * - `dtls_plaintext`: once the session's DTLS handshake is done, a record in clear (epoch 0, not
 *   ChangeCipherSpec) or an alert werift would read in clear (codec/dtls-record.ts): unauthenticated,
 *   and werift would close the session's DTLS transport on a warning alert (all its sends stop);
 * - `garbage`: a datagram on a latched 5-tuple that is neither STUN, DTLS nor RTP/RTCP.
 *
 * werift keeps answering the checks and running DTLS/SRTP per session: each session's werift
 * `StunProtocol` gets a `MuxTransport` in place of its own socket (mux-seat.ts). No log and no
 * closure per datagram; the lookup is core/udp-demux.ts's two Map reads.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../../observability/log.js';
import { DTLS_MALFORMED, readDtlsRecords } from '../codec/dtls-record.js';
import { fingerprintMatches, localUfrag, readStun, stunFields, STUN_REQUEST, verifyStunIntegrity } from '../codec/stun-check.js';
import { UdpDemux, type DemuxSession, type DemuxTuple } from '../core/udp-demux.js';
import type { RtcCounters } from './rtc-metrics.js';

/** What the mux hands a datagram to: werift's StunProtocol (`datagramReceived`). */
export interface MuxReceiver {
  datagramReceived(data: Buffer, addr: [string, number]): void;
}

/** One session's place at the mux: its ICE credentials and, once adopted, werift's receiver. */
export interface MuxSlot {
  readonly ufrag: string;
  readonly password: string;
  /** The password as the MESSAGE-INTEGRITY key. */
  readonly key: Buffer;
  receiver: MuxReceiver | undefined;
  /** The session's DTLS handshake is done: records in clear are dropped from now on. */
  dtlsUp: boolean;
}

export interface MuxOptions {
  readonly host: string;
  readonly port: number;
  readonly maxTuplesPerSession: number;
  /** Kernel receive and send buffer asked for (the OS caps it at net.core.rmem_max / wmem_max). */
  readonly bufferBytes: number;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
/** Every address the mux sends to is an IP literal from a received datagram: no DNS, no extra tick per send. */
const literalLookup = (host: string, _opts: unknown, cb: LookupCallback): void => cb(null, host, 4);

/** ufrag 64 random bits, password 128 (RFC 8445 §5.3: at least 24 and 128), hex: ice-chars (RFC 8839 §5.4). */
const UFRAG_BYTES = 8;
const PASSWORD_BYTES = 16;

export class RtcUdpMux {
  private readonly demux: UdpDemux<MuxSlot>;
  private readonly fields = stunFields();
  private closed = false;
  private sendErrors = 0;
  /** 5-tuples evicted from a session at its bound (a session's least recently used one). */
  evictions = 0;

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
    private readonly drops: RtcCounters['drops'],
    private readonly log: Logger,
    maxTuplesPerSession: number,
  ) {
    this.demux = new UdpDemux(maxTuplesPerSession);
    socket.on('message', (data: Buffer, rinfo) => this.receive(data, rinfo.address, rinfo.port));
    socket.on('error', (err) => {
      // Send errors (e.g. EPERM from a firewall) arrive here; the first is logged, none crashes the relay.
      if (this.sendErrors++ === 0) this.log.warn({ err: (err as NodeJS.ErrnoException).code ?? err.message }, 'rtc udp socket error (logged once)');
    });
  }

  /** Binds the one socket; rejects with the bind error (e.g. EADDRINUSE). */
  static async open(opts: MuxOptions, drops: RtcCounters['drops'], log: Logger): Promise<RtcUdpMux> {
    const socket = createSocket({ type: 'udp4', lookup: literalLookup });
    const port = await new Promise<number>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port: opts.port, address: opts.host, exclusive: true }, () => {
        socket.off('error', reject);
        resolve(socket.address().port);
      });
    });
    try {
      socket.setRecvBufferSize(opts.bufferBytes);
      socket.setSendBufferSize(opts.bufferBytes);
    } catch {
      // the kernel's limit applies; the default buffers still work
    }
    return new RtcUdpMux(socket, port, drops, log, opts.maxTuplesPerSession);
  }

  get sessionCount(): number {
    return this.demux.sessionCount;
  }

  get tupleCount(): number {
    return this.demux.tupleCount;
  }

  /** Registers a new session with fresh ICE credentials (unique among live sessions). */
  reserve(): DemuxSession<MuxSlot> {
    for (;;) {
      const ufrag = randomBytes(UFRAG_BYTES).toString('hex');
      const password = randomBytes(PASSWORD_BYTES).toString('hex');
      const s = this.demux.add(ufrag, { ufrag, password, key: Buffer.from(password, 'latin1'), receiver: undefined, dtlsUp: false });
      if (s !== undefined) return s;
    }
  }

  /** Forgets a session and its 5-tuples (idempotent). */
  release(s: DemuxSession<MuxSlot>): void {
    this.demux.remove(s);
  }

  /** Sends one datagram of a session (werift's transport `send`). */
  sendTo(data: Buffer, addr: [string, number]): void {
    if (!this.closed) this.socket.send(data, addr[1], addr[0]);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  /** The per-datagram path. */
  private receive(data: Buffer, address: string, port: number): void {
    const t = this.demux.find(address, port);
    const first = data.length === 0 ? 255 : data[0]!;
    if (first <= 3) return this.receiveStun(data, address, port, t);
    if (t === undefined) {
      this.drops.unknown_source++;
      return;
    }
    if (first >= 20 && first <= 63) {
      const clear = readDtlsRecords(data);
      if (clear === DTLS_MALFORMED) {
        this.drops.dtls_malformed++;
        return;
      }
      if (clear !== 0 && t.session.value.dtlsUp) {
        this.drops.dtls_plaintext++;
        return;
      }
    } else if (first < 128 || first > 191) {
      this.drops.garbage++;
      return;
    }
    t.session.value.receiver?.datagramReceived(data, t.addr);
  }

  /**
   * STUN (RFC 7983 §7: first byte 0..3). A request must name a live session and authenticate with
   * its password, on any 5-tuple (werift 0.24.4 does not check a request's MESSAGE-INTEGRITY
   * itself); one from a new 5-tuple latches it. Responses and indications pass only on latched
   * 5-tuples (werift checks a response against its own transaction and key).
   */
  private receiveStun(data: Buffer, address: string, port: number, latched: DemuxTuple<MuxSlot> | undefined): void {
    const f = this.fields;
    if (!readStun(data, f) || !fingerprintMatches(data, f)) {
      this.drops.stun_malformed++;
      return;
    }
    if (f.cls !== STUN_REQUEST) {
      if (latched === undefined) this.drops.unknown_source++;
      else latched.session.value.receiver?.datagramReceived(data, latched.addr);
      return;
    }
    const ufrag = localUfrag(data, f);
    const s = ufrag === undefined ? undefined : this.demux.session(ufrag);
    if (s === undefined) {
      this.drops.stun_unknown_ufrag++;
      return;
    }
    if (f.integrityAt < 0 || !verifyStunIntegrity(data, f, s.value.key)) {
      this.drops.stun_bad_integrity++;
      return;
    }
    const { tuple, evicted } = this.demux.latch(s, address, port);
    if (evicted) this.evictions++;
    s.value.receiver?.datagramReceived(data, tuple.addr);
  }
}
