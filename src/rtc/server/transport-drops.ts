/**
 * What werift drops without telling anyone, counted by the edge (issue 12: bad input is a counted
 * drop): SRTP/SRTCP packets whose tag does not verify (`bad_tag`) and DTLS records that do not
 * decrypt (`dtls_bad_record`). werift's objects are wrapped where they are set; nothing here runs
 * per packet but a try/catch around werift's own decryption.
 */
import { SrtpAuthenticationError, type RTCDtlsTransport } from 'werift';

export interface DropHooks {
  onBadTag(): void;
  onBadRecord(): void;
}

interface Decryptor {
  decrypt(data: Buffer): Buffer;
}

/**
 * werift drops a packet whose SRTP/SRTCP tag does not verify without telling anyone; the edge
 * counts it (issue 12: bad input is a counted drop). The SRTP sessions are made when DTLS completes
 * (and again on a rekey), so the transport's `srtp` and `srtcp` fields get an accessor that wraps
 * each session as it is set. The same for DTLS records that do not decrypt (werift logs them to its
 * debug channel): the DTLS socket is made when ICE connects, its cipher context on each handshake,
 * so both get an accessor and the cipher's `decryptPacket` is wrapped. Datagrams that are neither
 * STUN, DTLS nor media, and malformed DTLS framing, never get here: the one UDP port counts and
 * drops them (udp-mux.ts).
 */
export function countTransportDrops(dtls: RTCDtlsTransport, hooks: DropHooks): void {
  const transport = dtls as unknown as Record<string, unknown>;
  onEachSet(transport, 'dtls', (socket: Record<string, unknown>) => {
    onEachSet(socket, 'cipher', (cipher: RecordDecryptor) => countingThrows(cipher, hooks.onBadRecord));
  });
  for (const key of ['srtp', 'srtcp']) onEachSet(transport, key, (session: Decryptor) => countingBadTags(session, hooks.onBadTag));
}

interface RecordDecryptor {
  decryptPacket(packet: unknown): Buffer;
}

/** Calls `wrap` on the object held in `holder[key]` now and on every later one set there. */
function onEachSet<T extends object>(holder: Record<string, unknown>, key: string, wrap: (value: T) => void): void {
  let value = holder[key] as T | undefined;
  if (value !== undefined) wrap(value);
  Object.defineProperty(holder, key, {
    configurable: true,
    get: () => value,
    set: (next: T | undefined) => {
      value = next;
      if (next !== undefined) wrap(next);
    },
  });
}

/** The cipher's record decryption, counting every throw (werift catches it and drops the record). */
function countingThrows(cipher: RecordDecryptor, onThrow: () => void): void {
  const inner = cipher.decryptPacket.bind(cipher);
  cipher.decryptPacket = (packet) => {
    try {
      return inner(packet);
    } catch (err) {
      onThrow();
      throw err;
    }
  };
}

function countingBadTags(session: Decryptor, onBadTag: () => void): void {
  const decrypt = session.decrypt.bind(session);
  session.decrypt = (data) => {
    try {
      return decrypt(data);
    } catch (err) {
      if (err instanceof SrtpAuthenticationError) onBadTag();
      throw err; // werift drops it
    }
  };
}
