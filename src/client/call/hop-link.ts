/**
 * The client's end of the hop: crypto_kx client keys (libsodium) and ChaCha20-Poly1305 IETF
 * sealing of fixed-size cells (RFC 8439 §2.8, nonce = the 12-byte cell header), byte-compatible
 * with the relay's node:crypto side (src/media/crypto). Uses the shared pure cell codec.
 */
import { sodiumOrThrow } from '../crypto-lib.js';
import { BodyWriter, parseBody, RecordRefs, BODY_OK } from '../../wire/cell-body.js';
import { HEADER_BYTES, readCounter, readSession, wireBytes, writeHeader } from '../../wire/cell-layout.js';
import { ReplayWindow } from '../../wire/replay-window.js';

export interface HopStats {
  cellsSent: number;
  cellsReceived: number;
  dropped: number;
}

export class HopLink {
  readonly stats: HopStats = { cellsSent: 0, cellsReceived: 0, dropped: 0 };
  readonly writer = new BodyWriter();
  private readonly refs = new RecordRefs();
  private readonly window = new ReplayWindow();
  private counter = 0;
  private readonly upBody: Uint8Array;
  private readonly downWire: number;

  constructor(
    readonly session: number,
    private readonly tx: Uint8Array,
    private readonly rx: Uint8Array,
    upBytes: number,
    downBytes: number,
  ) {
    this.upBody = new Uint8Array(upBytes);
    this.downWire = wireBytes(downBytes);
  }

  /** Derives the client's hop keys (crypto_kx_client_session_keys). */
  static keys(client: { publicKey: Uint8Array; privateKey: Uint8Array }, serverPk: Uint8Array): { rx: Uint8Array; tx: Uint8Array } {
    const k = sodiumOrThrow().crypto_kx_client_session_keys(client.publicKey, client.privateKey, serverPk);
    return { rx: k.sharedRx, tx: k.sharedTx };
  }

  /** Starts the next uplink body: add records with `writer.add`, then call `seal()`. */
  begin(): BodyWriter {
    this.writer.reset(this.upBody);
    return this.writer;
  }

  /** Seals the body begun with begin() into a wire cell. */
  seal(): Uint8Array {
    this.writer.finish();
    const header = new Uint8Array(HEADER_BYTES);
    writeHeader(header, this.session, this.counter++);
    const ct = sodiumOrThrow().crypto_aead_chacha20poly1305_ietf_encrypt(this.upBody, null, null, header, this.tx);
    this.stats.cellsSent++;
    const cell = new Uint8Array(HEADER_BYTES + ct.length);
    cell.set(header);
    cell.set(ct, HEADER_BYTES);
    return cell;
  }

  /**
   * Opens a downlink cell and calls `onRecord` per record (views into the decrypted body).
   * Returns false (and counts a drop) if the cell is not a fresh, authentic cell of this session.
   */
  open(cell: Uint8Array, onRecord: (slot: number, rec: Uint8Array) => void): boolean {
    if (cell.length !== this.downWire || readSession(cell) !== this.session) return this.drop();
    const ctr = readCounter(cell);
    if (ctr < 0 || !this.window.check(ctr)) return this.drop();
    let body: Uint8Array;
    try {
      body = sodiumOrThrow().crypto_aead_chacha20poly1305_ietf_decrypt(null, cell.subarray(HEADER_BYTES), null, cell.subarray(0, HEADER_BYTES), this.rx);
    } catch {
      return this.drop();
    }
    if (parseBody(body, this.refs) !== BODY_OK) return this.drop();
    this.window.commit(ctr);
    this.stats.cellsReceived++;
    const refs = this.refs;
    for (let i = 0; i < refs.count; i++) {
      const o = refs.offsets[i]!;
      onRecord(refs.slots[i]!, body.subarray(o, o + refs.lengths[i]!));
    }
    return true;
  }

  private drop(): false {
    this.stats.dropped++;
    return false;
  }
}
