/**
 * The per-frame step of an encoded transform, shared by the worker (RTCRtpScriptTransform) and the
 * main-thread fallback (createEncodedStreams): a TransformStream over RTCEncoded{Audio,Video}Frame
 * that replaces each frame's data with the sealed (send) or opened (receive) bytes, and drops a
 * frame the sealer or opener refused (counted there). Web streams only: portable.
 */
import type { FrameOpener, FrameSealer } from './frame-e2ee.js';

/** The part of RTCEncodedAudioFrame / RTCEncodedVideoFrame this uses. */
export interface EncodedFrameLike {
  data: ArrayBuffer;
}

export function e2eTransformStream(step: FrameSealer | FrameOpener): TransformStream<EncodedFrameLike, EncodedFrameLike> {
  const run = 'seal' in step ? (b: Uint8Array) => step.seal(b) : (b: Uint8Array) => step.open(b);
  return new TransformStream<EncodedFrameLike, EncodedFrameLike>({
    transform(frame, controller) {
      const out = run(new Uint8Array(frame.data));
      if (out === undefined) return;
      // frame.data must be an ArrayBuffer of exactly the frame.
      frame.data = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? (out.buffer as ArrayBuffer) : (out.slice().buffer as ArrayBuffer);
      controller.enqueue(frame);
    },
  });
}
