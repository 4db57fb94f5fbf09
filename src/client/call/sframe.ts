/**
 * End-to-end records: SFrame (RFC 9605) framing over the whole media packet (an RTP packet is
 * sealed header included), with ChaCha20-Poly1305 IETF as the AEAD and a fixed padded size.
 *
 *   record = SFrame header (15 bytes) || AEAD(key, nonce, aad = header, plaintext) (n + 3 + 16 bytes)
 *   header = config byte 0xDF || KID (6 bytes BE) || CTR (8 bytes BE)          (RFC 9605 §4.3)
 *   plaintext = flags u8 (bit 0: dummy) || length u16BE || packet || zeros to n bytes
 *   nonce  = salt XOR CTR left-padded to 12 bytes                              (RFC 9605 §4.4.3)
 *   aad    = header || metadata (empty for cells)                              (RFC 9605 §4.4.3)
 *
 * Unpadded records (WebRTC video frames, src/client/rtc/): flags bit 1 set, length field 0, the
 * packet is the whole plaintext after the 3-byte prefix (so frames above 64 KiB fit); cell
 * clients never send them. `metadata` binds bytes a packetizer needs in clear (the VP8 payload
 * header) to the record, as RFC 9605's "metadata" does.
 *
 * Deviations from RFC 9605, on purpose: the KID and CTR always use their longest form here (config
 * byte X=1,K=5,Y=1,C=7), so every record of a call has one length and the relay cannot learn how
 * far a sender's counter went; the cipher is ChaCha20-Poly1305 (the same primitive as the hop,
 * available in libsodium everywhere) rather than a registered SFrame AES suite; keys come from
 * BLAKE2b (e2e-keys.ts) rather than HKDF. The packet length and dummy flag are inside the AEAD, so
 * the relay sees one record size and no RTP header, whatever the codec did.
 */
import { sodiumOrThrow } from '../crypto-lib.js';
import type { SenderKey } from './e2e-keys.js';

export const SFRAME_HEADER_BYTES = 15;
const CONFIG_BYTE = 0xdf;
const INNER_PREFIX = 3;
const TAG = 16;
const FLAG_DUMMY = 1;
const FLAG_UNPADDED = 2;
const EMPTY = new Uint8Array(0);

/** Bytes of a sealed record carrying packets of at most `capacity` bytes. */
export function recordBytes(capacity: number): number {
  return SFRAME_HEADER_BYTES + INNER_PREFIX + capacity + TAG;
}

/** Largest packet a record of `recordLen` bytes carries. */
export function capacityOf(recordLen: number): number {
  return recordLen - SFRAME_HEADER_BYTES - INNER_PREFIX - TAG;
}

function writeUint48(b: Uint8Array, off: number, v: number): void {
  const hi = Math.floor(v / 0x1_0000_0000);
  b[off] = (hi >>> 8) & 0xff;
  b[off + 1] = hi & 0xff;
  new DataView(b.buffer, b.byteOffset).setUint32(off + 2, v >>> 0);
}

function nonceOf(salt: Uint8Array, header: Uint8Array): Uint8Array {
  const n = new Uint8Array(12);
  for (let i = 0; i < 12; i++) n[i] = salt[i]! ^ (i >= 4 ? header[7 + i - 4]! : 0);
  return n;
}

function writeHeader(kid: number, ctr: number): Uint8Array {
  const header = new Uint8Array(SFRAME_HEADER_BYTES);
  header[0] = CONFIG_BYTE;
  writeUint48(header, 1, kid);
  const dv = new DataView(header.buffer);
  dv.setUint32(7, Math.floor(ctr / 0x1_0000_0000));
  dv.setUint32(11, ctr >>> 0);
  return header;
}

function aadOf(header: Uint8Array, metadata: Uint8Array): Uint8Array {
  if (metadata.length === 0) return header;
  const aad = new Uint8Array(header.length + metadata.length);
  aad.set(header);
  aad.set(metadata, header.length);
  return aad;
}

function sealPlain(key: SenderKey, header: Uint8Array, plain: Uint8Array, metadata: Uint8Array): Uint8Array {
  const ct = sodiumOrThrow().crypto_aead_chacha20poly1305_ietf_encrypt(plain, aadOf(header, metadata), null, nonceOf(key.salt, header), key.key);
  const out = new Uint8Array(SFRAME_HEADER_BYTES + ct.length);
  out.set(header);
  out.set(ct, SFRAME_HEADER_BYTES);
  return out;
}

/** Seals `packet` (or a dummy when `packet` is undefined) into a record padded for `capacity`. */
export function sealRecord(key: SenderKey, kid: number, ctr: number, packet: Uint8Array | undefined, capacity: number, metadata: Uint8Array = EMPTY): Uint8Array {
  const len = packet?.length ?? 0;
  if (len > capacity) throw new RangeError(`packet of ${len} bytes exceeds the call's ${capacity}-byte capacity`);
  const header = writeHeader(kid, ctr);
  const plain = new Uint8Array(INNER_PREFIX + capacity);
  plain[0] = packet === undefined ? FLAG_DUMMY : 0;
  plain[1] = len >>> 8;
  plain[2] = len & 0xff;
  if (packet !== undefined) plain.set(packet, INNER_PREFIX);
  return sealPlain(key, header, plain, metadata);
}

/** Seals `packet` of any length without padding (flags bit 1): the record is `packet.length + 34` bytes. */
export function sealUnpaddedRecord(key: SenderKey, kid: number, ctr: number, packet: Uint8Array, metadata: Uint8Array = EMPTY): Uint8Array {
  const header = writeHeader(kid, ctr);
  const plain = new Uint8Array(INNER_PREFIX + packet.length);
  plain[0] = FLAG_UNPADDED;
  plain.set(packet, INNER_PREFIX);
  return sealPlain(key, header, plain, metadata);
}

export interface RecordHeader {
  kid: number;
  ctr: number;
}

/** Reads the header of a record; undefined if it is not in this call's fixed form. */
export function readRecordHeader(rec: Uint8Array): RecordHeader | undefined {
  if (rec.length < SFRAME_HEADER_BYTES + INNER_PREFIX + TAG || rec[0] !== CONFIG_BYTE) return undefined;
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.length);
  const kid = dv.getUint16(1) * 0x1_0000_0000 + dv.getUint32(3);
  const hi = dv.getUint32(7);
  if (hi > 0x1f_ffff) return undefined;
  return { kid, ctr: hi * 0x1_0000_0000 + dv.getUint32(11) };
}

export interface OpenedRecord {
  dummy: boolean;
  packet: Uint8Array;
}

/** Opens a record; undefined if it does not authenticate (with `metadata`) or is malformed inside. */
export function openRecord(key: SenderKey, rec: Uint8Array, metadata: Uint8Array = EMPTY): OpenedRecord | undefined {
  if (rec.length < SFRAME_HEADER_BYTES + INNER_PREFIX + TAG) return undefined;
  const header = rec.subarray(0, SFRAME_HEADER_BYTES);
  let plain: Uint8Array;
  try {
    plain = sodiumOrThrow().crypto_aead_chacha20poly1305_ietf_decrypt(null, rec.subarray(SFRAME_HEADER_BYTES), aadOf(header, metadata), nonceOf(key.salt, header), key.key);
  } catch {
    return undefined;
  }
  if ((plain[0]! & FLAG_UNPADDED) !== 0) return { dummy: (plain[0]! & FLAG_DUMMY) !== 0, packet: plain.subarray(INNER_PREFIX) };
  const len = (plain[1]! << 8) | plain[2]!;
  if (len > plain.length - INNER_PREFIX) return undefined;
  return { dummy: (plain[0]! & FLAG_DUMMY) !== 0, packet: plain.subarray(INNER_PREFIX, INNER_PREFIX + len) };
}
