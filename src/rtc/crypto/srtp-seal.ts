/**
 * SRTP protection of one outgoing RTP packet whose header is already written in the output buffer,
 * with the session key and salt DTLS-SRTP derived (RFC 5764 §4.2, RFC 3711 §4.3: werift derives
 * them; this only seals). Two profiles, the ones the edge's DTLS offers:
 *
 * - AEAD_AES_128_GCM (RFC 7714): IV = salt XOR (0x0000 || SSRC || ROC || SEQ) (§8.1), the whole
 *   RTP header is the associated data (§8.2), a 16-byte tag after the ciphertext (§8.2, §14.2).
 * - AES_CM_128_HMAC_SHA1_80 (RFC 3711): counter = (salt << 16) XOR (SSRC << 64) XOR (index << 16),
 *   index = ROC << 16 | SEQ (§4.1.1); tag = the first 80 bits of HMAC-SHA1(auth key, header ||
 *   ciphertext || ROC) (§4.2, §3.1).
 *
 * The rollover counter is the caller's (the sending context's per-SSRC state). node:crypto has no
 * way to re-IV a cipher, so GCM and CTR each make one cipher per packet (the cost docs/RTC.md's
 * performance part measures); what this saves against werift's path is everything around it:
 * no header object, no serialize, no concatenation (header, ciphertext and tag land in one buffer).
 */
import { createCipheriv, createHmac, type KeyObject } from 'node:crypto';
import { cmIv, gcmIv, srtpSetup } from './srtp-iv.js';

export type SrtpSealProfile = 'aes128gcm' | 'aes128cm-sha1-80';

export interface SrtpSessionKeys {
  readonly key: Buffer;
  /** 12 bytes (GCM) or 14 (AES-CM). */
  readonly salt: Buffer;
  /** AES-CM only: the 20-byte HMAC-SHA1 key. */
  readonly authKey?: Buffer;
}

export class SrtpSealer {
  /** Bytes the seal adds after the payload (the tag). */
  readonly overhead: number;
  private readonly key: KeyObject;
  private readonly iv: Buffer;
  private readonly roc = Buffer.alloc(4);

  constructor(
    readonly profile: SrtpSealProfile,
    private readonly keys: SrtpSessionKeys,
  ) {
    ({ tagBytes: this.overhead, key: this.key, iv: this.iv } = srtpSetup(profile, keys));
  }

  /**
   * Seals in place: the header is `out[0..hdrLen)`, the plaintext payload (padding included)
   * `out[hdrLen..hdrLen + bodyLen)` becomes ciphertext, the tag follows it. `out` must hold
   * hdrLen + bodyLen + overhead bytes. Returns the packet's length.
   */
  seal(out: Buffer, hdrLen: number, bodyLen: number, ssrc: number, seq: number, roc: number): number {
    const payload = out.subarray(hdrLen, hdrLen + bodyLen);
    return this.profile === 'aes128gcm' ? this.sealGcm(out, hdrLen, payload, ssrc, seq, roc) : this.sealCm(out, hdrLen, payload, ssrc, seq, roc);
  }

  private sealGcm(out: Buffer, hdrLen: number, payload: Buffer, ssrc: number, seq: number, roc: number): number {
    const iv = gcmIv(this.iv, this.keys.salt, ssrc, roc, seq);
    const c = createCipheriv('aes-128-gcm', this.key, iv); // copies the IV: the scratch is reusable
    c.setAAD(out.subarray(0, hdrLen));
    const enc = c.update(payload);
    c.final();
    enc.copy(out, hdrLen);
    c.getAuthTag().copy(out, hdrLen + enc.length);
    return hdrLen + enc.length + 16;
  }

  private sealCm(out: Buffer, hdrLen: number, payload: Buffer, ssrc: number, seq: number, roc: number): number {
    const iv = cmIv(this.iv, this.keys.salt, ssrc, roc, seq);
    const enc = createCipheriv('aes-128-ctr', this.key, iv).update(payload);
    enc.copy(out, hdrLen);
    const end = hdrLen + enc.length;
    this.roc.writeUInt32BE(roc >>> 0, 0);
    const tag = createHmac('sha1', this.keys.authKey!).update(out.subarray(0, end)).update(this.roc).digest();
    tag.copy(out, end, 0, 10);
    return end + 10;
  }
}
