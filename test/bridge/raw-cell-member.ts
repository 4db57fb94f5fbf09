/**
 * A cell member that speaks the wire protocol by hand (docs/PROTOCOL.md §1–§4), for bad-input
 * tests: it joins with its own X25519 key, and sends whatever up cells a test builds (valid hop
 * layer around garbage records, or garbage datagrams) from one UDP socket on 127.0.0.1.
 */
import { createSocket, type Socket } from 'node:dgram';
import sodium from 'libsodium-wrappers';
import { encodeBase64url } from '../../src/wire/b64url.js';
import { writeHeader } from '../../src/wire/cell-layout.js';
import { BodyWriter } from '../../src/wire/cell-body.js';

export class RawCellMember {
  private counter = 0;
  private readonly writer = new BodyWriter();
  private constructor(
    readonly session: number,
    readonly slot: number,
    readonly upBytes: number,
    private readonly tx: Uint8Array,
    private readonly socket: Socket,
    private readonly to: { host: string; port: number },
  ) {}

  static async join(relayUrl: string, room: Uint8Array, profile: string): Promise<RawCellMember> {
    await sodium.ready;
    const kp = sodium.crypto_kx_keypair();
    const res = await fetch(`${relayUrl}/v1/media/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ room: encodeBase64url(room), publicKey: encodeBase64url(kp.publicKey), profile }) });
    if (res.status !== 200) throw new Error(`join ${res.status}`);
    const j = (await res.json()) as { session: number; slot: number; serverPublicKey: string; udp: { host: string; port: number }; profile: { upBytes: number } };
    const keys = sodium.crypto_kx_client_session_keys(kp.publicKey, kp.privateKey, Buffer.from(j.serverPublicKey, 'base64url'));
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    socket.on('message', () => undefined); // down cells: not read
    return new RawCellMember(j.session, j.slot, j.profile.upBytes, keys.sharedTx, socket, j.udp);
  }

  /** A valid up cell (hop layer sealed) whose body holds `records` (slot 0), as many as fit. */
  sendRecords(records: Uint8Array[]): void {
    const body = new Uint8Array(this.upBytes);
    this.writer.reset(body);
    for (const r of records) this.writer.add(0, r);
    this.writer.finish();
    this.sendBody(body);
  }

  /** A valid up cell around any body bytes of the right length (malformed bodies included). */
  sendBody(body: Uint8Array): void {
    const header = new Uint8Array(12);
    writeHeader(header, this.session, this.counter++);
    const ct = sodium.crypto_aead_chacha20poly1305_ietf_encrypt(body, null, null, header, this.tx);
    this.sendRaw(Buffer.concat([header, ct]));
  }

  sendRaw(datagram: Uint8Array): void {
    this.socket.send(datagram, this.to.port, this.to.host);
  }

  close(): void {
    this.socket.close();
  }
}
