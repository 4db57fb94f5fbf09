/**
 * REMB (Receiver Estimated Maximum Bitrate), draft-alvestrand-rmcat-remb-03 §2.2: an RTCP PSFB
 * (PT 206, FMT 15, RFC 4585 §6.1) whose FCI is "REMB", a 1-byte SSRC count, a 6-bit exponent and an
 * 18-bit mantissa (bitrate = mantissa * 2^exp bit/s), then the SSRCs it applies to.
 */

/** The exponent and mantissa of `bps` (rounded down to what 18 bits of mantissa can say). */
export function rembExponent(bps: number): { exp: number; mantissa: number } {
  let exp = 0;
  let m = Math.max(0, Math.floor(bps));
  while (m >= 1 << 18 && exp < 63) {
    m = Math.floor(m / 2);
    exp++;
  }
  return { exp, mantissa: m };
}
