/**
 * The worker behind RTCRtpScriptTransform (W3C WebRTC Encoded Transform, "rtctransform" event):
 * one per RtcCall, running every sealing and opening step of that call off the page's thread.
 * Built from this source by the app's bundler (`new Worker(new URL('./e2ee-worker.js',
 * import.meta.url), { type: 'module' })`, which Vite and webpack 5 follow) or given as
 * `workerUrl`. Messages from the page: {type:'rekey', secret}, {type:'stats', n} (answered with
 * {type:'stats', n, report}). Each transform's options carry the call secret (the first one
 * creates the engine), side, kind, KID (send) or id (receive).
 */
import { ready } from '../ready.js';
import { E2eeEngine, type TransformOptions } from './e2ee-engine.js';
import { e2eTransformStream, type EncodedFrameLike } from './transform-pipe.js';

interface WorkerTransformer {
  readonly options: TransformOptions & { secret: Uint8Array };
  readonly readable: ReadableStream<EncodedFrameLike>;
  readonly writable: WritableStream<EncodedFrameLike>;
}

interface WorkerScope {
  onrtctransform: ((ev: { transformer: WorkerTransformer }) => void) | null;
  onmessage: ((ev: { data: { type?: string; secret?: Uint8Array; n?: number } }) => void) | null;
  postMessage(msg: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
let engine: E2eeEngine | undefined;
const loaded = ready();

scope.onrtctransform = (ev) => {
  const t = ev.transformer;
  void loaded.then(() => {
    engine ??= new E2eeEngine(t.options.secret);
    // A refused frame is dropped inside the step; a broken stream (pc closed) just ends the pipe.
    t.readable.pipeThrough(e2eTransformStream(engine.step(t.options))).pipeTo(t.writable).catch(() => undefined);
  });
};

scope.onmessage = (ev) => {
  const m = ev.data;
  void loaded.then(() => {
    if (m.type === 'rekey' && m.secret instanceof Uint8Array) {
      if (engine === undefined) engine = new E2eeEngine(m.secret);
      else engine.rekey(m.secret);
    } else if (m.type === 'stats') {
      scope.postMessage({ type: 'stats', n: m.n, report: engine?.report() });
    }
  });
};
