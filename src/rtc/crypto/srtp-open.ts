/**
 * SRTP unprotection of one incoming RTP packet (the receiving half of srtp-seal.ts, same profiles
 * and key material): AEAD_AES_128_GCM (RFC 7714 §8.1 IV, §8.2 header as AAD, 16-byte tag) and
 * AES_CM_128_HMAC_SHA1_80 (RFC 3711 §3.3: the tag is checked before anything is decrypted,
 * §4.2 HMAC-SHA1 over header || ciphertext || ROC, §4.1.1 counter). Where the payload starts is
 * read by codec/rtp-header.ts (RFC 3550 §5.1, §5.3.1: CSRCs, extension block), without objects.
 *
 * `open` returns the header followed by the plaintext (RTP padding still at its end, as werift's
 * context returns it), or undefined when the packet is malformed, its tag does not verify or its
 * padding count does not fit (werift's check after decryption): the
 * caller keeps its per-SSRC state unchanged then (RFC 3711 §3.3.1: the ROC and highest sequence
 * are updated only after authentication).
 */
import { createDecipheriv, createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { cmIv, gcmIv, srtpSetup } from './srtp-iv.js';
import { readRtpHeader, RTP_OK, type RtpFields } from '../codec/rtp-header.js';
import type { SrtpSealProfile, SrtpSessionKeys } from './srtp-seal.js';

export class SrtpOpener {
  private readonly key: KeyObject;
  private readonly iv: Buffer;
  private readonly rocBuf = Buffer.alloc(4);
  private readonly fields: RtpFields = { payloadType: 0, marker: false, sequence: 0, timestamp: 0, ssrc: 0, payloadOffset: 0, extOffset: 0, extLength: 0, extProfile: 0 };
  readonly tagLength: number;

  constructor(
    readonly profile: SrtpSealProfile,
    private readonly keys: SrtpSessionKeys,
  ) {
    ({ tagBytes: this.tagLength, key: this.key, iv: this.iv } = srtpSetup(profile, keys));
  }

  /** The packet's SSRC and sequence number (for the caller's ROC estimate); false when it is not an RTP packet this can open. */
  peek(packet: Buffer, out: { ssrc: number; seq: number }): boolean {
    const f = this.fields;
    if (readRtpHeader(packet, f) !== RTP_OK || f.payloadOffset + this.tagLength > packet.length) return false;
    out.ssrc = f.ssrc;
    out.seq = f.sequence;
    return true;
  }

  /** Opens the packet last passed to `peek` with rollover counter `roc`; undefined when it does not authenticate. */
  open(packet: Buffer, roc: number): Buffer | undefined {
    const f = this.fields;
    const hdrLen = f.payloadOffset;
    const end = packet.length - this.tagLength;
    const plain = this.profile === 'aes128gcm' ? this.openGcm(packet, hdrLen, end, f.ssrc, f.sequence, roc) : this.openCm(packet, hdrLen, end, f.ssrc, f.sequence, roc);
    if (plain === undefined) return undefined;
    // With the P bit, the last plaintext octet counts the padding: 1..the payload's length (RFC 3550 §5.1).
    if ((packet[0]! & 0x20) !== 0 && (plain.length === 0 || plain[plain.length - 1] === 0 || plain[plain.length - 1]! > plain.length)) return undefined;
    const out = Buffer.allocUnsafe(hdrLen + plain.length);
    packet.copy(out, 0, 0, hdrLen);
    plain.copy(out, hdrLen);
    return out;
  }

  private openGcm(packet: Buffer, hdrLen: number, end: number, ssrc: number, seq: number, roc: number): Buffer | undefined {
    const iv = gcmIv(this.iv, this.keys.salt, ssrc, roc, seq);
    const d = createDecipheriv('aes-128-gcm', this.key, iv);
    d.setAAD(packet.subarray(0, hdrLen));
    d.setAuthTag(packet.subarray(end));
    const plain = d.update(packet.subarray(hdrLen, end));
    try {
      d.final();
    } catch {
      return undefined; // the tag did not verify: OpenSSL's only way to say so
    }
    return plain;
  }

  private openCm(packet: Buffer, hdrLen: number, end: number, ssrc: number, seq: number, roc: number): Buffer | undefined {
    this.rocBuf.writeUInt32BE(roc >>> 0, 0);
    const tag = createHmac('sha1', this.keys.authKey!).update(packet.subarray(0, end)).update(this.rocBuf).digest();
    if (!timingSafeEqual(tag.subarray(0, 10), packet.subarray(end))) return undefined;
    const iv = cmIv(this.iv, this.keys.salt, ssrc, roc, seq);
    return createDecipheriv('aes-128-ctr', this.key, iv).update(packet.subarray(hdrLen, end));
  }
}
