/**
 * The seam between one werift RTCPeerConnection and the edge's one UDP port (udp-mux.ts).
 * werift 0.24.4 has no way to hand its ICE layer a shared socket: gathering binds one dgram
 * socket per session (`StunProtocol.connectionMade` -> `UdpTransport.init`). So, per session:
 *
 * 1. `MuxSeat.take` registers the session at the mux with ICE credentials of its own (werift's
 *    ufrag is 4 hex digits, 16 bits: two of 500 sessions would share one; ours are 64-bit ufrags
 *    and 128-bit passwords, unique among live sessions), before werift writes the answer;
 * 2. werift gathers as before: its one host candidate binds a throwaway socket on an ephemeral
 *    port of the bind address (no range: nothing is ever sent to it);
 * 3. `adopt` swaps that `StunProtocol`'s transport for a `MuxTransport` (sends go out of the mux
 *    socket; the mux hands datagrams to the protocol), closes the throwaway socket and gives the
 *    candidate the mux's port; the answer's text gets the same port (peer-session.ts shapeAnswer);
 * 4. once the peer connection is connected (DTLS done), the mux drops DTLS records in clear
 *    for the session (udp-mux.ts `dtls_plaintext`);
 * 5. werift closing the transport (the peer connection closes) or `release` unregisters the
 *    session and its 5-tuples from the mux.
 *
 * The werift fields used are typed structurally here (they are private in its .d.ts); the edge's
 * tests (test/rtc/edge-*.test.ts) run every session through this seam.
 */
import type { RTCPeerConnection } from 'werift';
import type { DemuxSession } from '../core/udp-demux.js';
import type { MuxReceiver, MuxSlot, RtcUdpMux } from './udp-mux.js';

interface WeriftTransport {
  closed: boolean;
  close(): Promise<void>;
}

interface WeriftStunProtocol extends MuxReceiver {
  readonly type: string;
  transport: WeriftTransport | MuxTransport;
  localCandidate?: { port: number };
}

interface WeriftIceConnection {
  localUsername: string;
  localPassword: string;
  userHistory: Record<string, string>;
  protocols: WeriftStunProtocol[];
}

/** One resolved promise for every send (werift awaits or `.catch`es it; none allocated per packet). */
const DONE: Promise<void> = Promise.resolve();

/** What werift's StunProtocol sees in place of its UdpTransport. */
class MuxTransport {
  readonly type = 'udp';
  readonly socketType = 'udp4';
  closed = false;
  /** werift's protocol sets it on its own transport; the mux calls the protocol directly. */
  onData: (data: Buffer, addr: [string, number]) => void = () => undefined;

  constructor(
    private readonly seat: MuxSeat,
    readonly address: { address: string; family: string; port: number },
  ) {}

  readonly send = (data: Buffer, addr?: [string, number]): Promise<void> => {
    if (!this.closed && addr !== undefined) this.seat.mux.sendTo(data, addr);
    return DONE;
  };

  readonly close = (): Promise<void> => {
    this.closed = true;
    this.seat.release();
    return DONE;
  };
}

export class MuxSeat {
  private constructor(
    readonly mux: RtcUdpMux,
    private readonly session: DemuxSession<MuxSlot>,
  ) {}

  /** A session's place at the mux, with fresh ICE credentials. */
  static take(mux: RtcUdpMux): MuxSeat {
    return new MuxSeat(mux, mux.reserve());
  }

  get ufrag(): string {
    return this.session.ufrag;
  }

  /** Gives werift this seat's ICE credentials: after setRemoteDescription, before createAnswer. */
  credentials(pc: RTCPeerConnection): void {
    const { ufrag, password } = this.session.value;
    for (const conn of connections(pc)) {
      conn.localUsername = ufrag;
      conn.localPassword = password;
      conn.userHistory[ufrag] = password; // werift answers a check with the password of the ufrag it names
    }
  }

  /**
   * After gathering: moves werift's one UDP host candidate onto the mux (its socket is closed) and
   * returns the port to advertise. Throws when werift did not make exactly one UDP protocol (one
   * BUNDLE transport, one host candidate: the edge's offer policy and options guarantee it).
   */
  async adopt(pc: RTCPeerConnection): Promise<number> {
    const conns = connections(pc);
    const protocols = conns.flatMap((c) => c.protocols).filter((p) => p.type === 'stun');
    if (conns.length !== 1 || protocols.length !== 1 || protocols[0]!.localCandidate === undefined) {
      throw new Error(`werift gathered ${protocols.length} UDP protocols on ${conns.length} ICE transports; the mux takes exactly one`);
    }
    const protocol = protocols[0]!;
    const own = protocol.transport as WeriftTransport;
    const address = { address: '0.0.0.0', family: 'IPv4', port: this.mux.port };
    protocol.transport = new MuxTransport(this, address);
    protocol.localCandidate!.port = this.mux.port;
    this.session.value.receiver = protocol;
    const slot = this.session.value;
    const sub = pc.connectionStateChange.subscribe((state) => {
      if (state !== 'connected') return;
      slot.dtlsUp = true; // werift says connected once ICE and the DTLS handshake are done
      sub.unSubscribe();
    });
    await own.close();
    return this.mux.port;
  }

  /** Unregisters the session and its 5-tuples from the mux (idempotent). */
  release(): void {
    this.session.value.receiver = undefined;
    this.mux.release(this.session);
  }
}

function connections(pc: RTCPeerConnection): WeriftIceConnection[] {
  return pc.iceTransports.map((t) => t.connection as unknown as WeriftIceConnection);
}
