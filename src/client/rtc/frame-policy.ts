/**
 * The fixed audio policy of the WebRTC SDK and the VP8 bytes a packetizer needs in clear. Pure.
 *
 * Audio: Opus (RFC 7587) mono at a constant 32 kbit/s (`cbr=1;maxaveragebitrate=32000`, DTX off
 * `usedtx=0`), 20 ms frames: libopus in CBR mode emits exactly bitrate × 20 ms / 8 = 80 bytes per
 * frame, speech or silence. The seal pads every audio frame to that size (AUDIO_PAD_BYTES), so a
 * frame the encoder made smaller (a lower bitrate chosen by congestion control) has the same size
 * on the wire; a larger one is dropped and counted (`oversize`), never sent in another size.
 *
 * Video: VP8 (RFC 7741). The receiving browser's depacketizer reads the first byte of a frame (the
 * frame tag, RFC 6386 §9.1: bit 0 = 0 for a key frame) and, for key frames, bytes 3..9 (start code
 * and dimensions, §9.2). Those stay in clear: 10 bytes of a key frame, 1 of any other; the rest is
 * sealed. Frame sizes and which frames are key frames are visible to the relay (docs/RTC-E2EE.md).
 */

/** Opus bitrate the SDK asks every encoder for (bit/s). */
export const OPUS_BITRATE = 32_000;
/** Opus frame duration (ms); Chromium's default packet time. */
export const OPUS_FRAME_MS = 20;
/** One size for every audio frame inside the seal: a CBR Opus frame at OPUS_BITRATE. */
export const AUDIO_PAD_BYTES = (OPUS_BITRATE * OPUS_FRAME_MS) / 8000;

export const VP8_KEY_CLEAR_BYTES = 10;
export const VP8_DELTA_CLEAR_BYTES = 1;

/** Bytes of a VP8 frame left in clear: 10 for a key frame, 1 otherwise, never more than the frame. */
export function vp8ClearBytes(frame: Uint8Array): number {
  if (frame.length === 0) return 0;
  return Math.min(frame.length, (frame[0]! & 1) === 0 ? VP8_KEY_CLEAR_BYTES : VP8_DELTA_CLEAR_BYTES);
}
