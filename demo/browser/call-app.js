// The call page (issue 11): microphone -> WebCodecs AudioEncoder (Opus) -> CallClient (SFrame records
// in padded hop cells over a WebSocket) -> relay -> AudioDecoder -> speaker, and a panel showing what
// the network and the relay see. Bundled with the SDK's browser entry by demo/browser/serve.mjs.
import { CallClient, decodeB64url, encodeB64url, ready, roomIdOf } from '../../src/client/browser.ts';

const SAMPLE_RATE = 48_000;
const PROFILE = 'audio';
/** Local voice detector: RMS above this starts "talk", which lasts HANGOVER_MS past the last loud block. */
const VAD_RMS = 0.01;
const HANGOVER_MS = 300;

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const relay = params.get('relay') ?? location.origin;

/** What the page did, for people (the panel) and for tests (window.demo). */
const demo = { joined: false, encoded: 0, sent: 0, oversize: 0, received: 0, decoded: 0, rxEnergy: 0, rxLoudFrames: 0, micLevel: 0, rxLevel: 0, talking: false, errors: [] };
window.demo = demo;

function callSecret() {
  const fromHash = decodeB64url(location.hash.slice(1), 32);
  if (fromHash !== undefined) return fromHash;
  const fresh = crypto.getRandomValues(new Uint8Array(32));
  history.replaceState(null, '', `${location.pathname}${location.search}#${encodeB64url(fresh)}`);
  return fresh;
}

const rms = (x) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s / x.length);
};

let session;

async function join() {
  $('join').disabled = true;
  $('status').textContent = 'joining…';
  const secret = callSecret();
  await ready();
  const ctx = new AudioContext({ sampleRate: SAMPLE_RATE });
  await ctx.resume();
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
  const call = await CallClient.join({ relay, callSecret: secret, profile: PROFILE, e2ePadding: true });
  const encoder = startEncoder(call);
  const capture = startCapture(ctx, stream, encoder);
  const decoders = new Map();
  call.on('frame', (f) => {
    demo.received++;
    let d = decoders.get(f.slot);
    if (d === undefined) decoders.set(f.slot, (d = startDecoder(ctx)));
    // The sender's counter grows by one per 20 ms record (media or dummy) from a random start: time is the difference.
    d.firstCtr ??= f.ctr;
    d.decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: (f.ctr - d.firstCtr) * 20_000, data: f.data }));
  });
  call.on('roster', (r) => ($('roster').textContent = `${r.slots.length} (${r.slots.join(', ')})`));
  session = { call, ctx, stream, encoder, capture, decoders, secret, last: { t: performance.now(), records: 0, media: 0 } };
  demo.joined = true;
  $('status').textContent = `joined as slot ${call.slot}`;
  $('leave').disabled = false;
}

function startEncoder(call) {
  const encoder = new AudioEncoder({
    output: (chunk) => {
      demo.encoded++;
      if (!demo.talking) return; // silence: nothing to send; e2e padding sends a sealed dummy instead
      const bytes = new Uint8Array(chunk.byteLength);
      chunk.copyTo(bytes);
      if (bytes.length > call.capacity) return void demo.oversize++;
      call.send(bytes);
      demo.sent++;
    },
    error: (e) => demo.errors.push(`encoder: ${e.message}`),
  });
  // 20 ms Opus frames (one per tick of the 'audio' profile), constant 24 kbit/s: 60 bytes a frame.
  encoder.configure({ codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1, bitrate: 24_000, bitrateMode: 'constant', opus: { frameDuration: 20_000 } });
  return encoder;
}

function startCapture(ctx, stream, encoder) {
  const src = ctx.createMediaStreamSource(stream);
  const proc = ctx.createScriptProcessor(1024, 1, 1);
  const mute = ctx.createGain();
  mute.gain.value = 0;
  let ts = 0;
  let loudUntil = 0;
  proc.onaudioprocess = (ev) => {
    const pcm = new Float32Array(ev.inputBuffer.getChannelData(0));
    const level = rms(pcm);
    demo.micLevel = level;
    if (level > VAD_RMS) loudUntil = performance.now() + HANGOVER_MS;
    demo.talking = performance.now() < loudUntil;
    const frame = new AudioData({ format: 'f32-planar', sampleRate: SAMPLE_RATE, numberOfFrames: pcm.length, numberOfChannels: 1, timestamp: ts, data: pcm });
    ts += (pcm.length * 1e6) / SAMPLE_RATE;
    if (encoder.state === 'configured') encoder.encode(frame);
    frame.close();
  };
  src.connect(proc);
  proc.connect(mute);
  mute.connect(ctx.destination);
  return { src, proc, mute };
}

function startDecoder(ctx) {
  let playAt = 0;
  const decoder = new AudioDecoder({
    output: (data) => {
      demo.decoded++;
      const n = data.numberOfFrames;
      const pcm = new Float32Array(n);
      data.copyTo(pcm, { planeIndex: 0, format: 'f32-planar' });
      data.close();
      const level = rms(pcm);
      demo.rxLevel = level;
      demo.rxEnergy += level * level * n;
      if (level > VAD_RMS) demo.rxLoudFrames++;
      const buf = ctx.createBuffer(1, n, SAMPLE_RATE);
      buf.copyToChannel(pcm, 0);
      const node = ctx.createBufferSource();
      node.buffer = buf;
      node.connect(ctx.destination);
      playAt = Math.max(playAt, ctx.currentTime + 0.06); // a small jitter buffer
      node.start(playAt);
      playAt += n / SAMPLE_RATE;
    },
    error: (e) => demo.errors.push(`decoder: ${e.message}`),
  });
  decoder.configure({ codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: 1 });
  return { decoder };
}

async function leave() {
  if (session === undefined) return;
  const s = session;
  session = undefined;
  $('leave').disabled = true;
  await s.call.leave();
  s.stream.getTracks().forEach((t) => t.stop());
  await s.ctx.close();
  demo.joined = false;
  $('status').textContent = 'left';
  $('join').disabled = false;
}

function bar(id, level) {
  $(id).style.width = `${Math.min(12, Math.round(level * 120))}em`;
}

function refresh() {
  bar('micbar', demo.micLevel);
  bar('rxbar', demo.rxLevel);
  $('mic').textContent = demo.micLevel.toFixed(3);
  $('rx').textContent = demo.rxLevel.toFixed(3);
  $('enc').textContent = `${demo.encoded} / ${demo.sent}`;
  $('dec').textContent = `${demo.received} / ${demo.decoded}`;
  $('vad').innerHTML = demo.talking ? '<span class="talk">talking</span>' : '<span class="silence">silent</span>';
  if (session === undefined) return;
  const { call } = session;
  const p = call.profile;
  const now = performance.now();
  const records = call.stats.packetsSent + call.stats.dummiesSent;
  const dt = (now - session.last.t) / 1000;
  const recRate = (records - session.last.records) / dt;
  const mediaRate = (call.stats.packetsSent - session.last.media) / dt;
  session.last = { t: now, records, media: call.stats.packetsSent };
  $('transport').textContent = `${call.transportKind === 'ws' ? 'WebSocket (TCP)' : 'UDP'} to ${new URL(relay).host}`;
  $('upsize').textContent = `${12 + p.upBytes + 16} bytes`;
  $('downsize').textContent = `${12 + p.downBytes + 16} bytes`;
  $('cellrate').textContent = `${(1000 / p.tickMs).toFixed(0)} (one per ${p.tickMs} ms tick, talk or not)`;
  $('netview').textContent = 'the same: fixed-size cells at a fixed rate (hop padding)';
  $('room').textContent = `${encodeB64url(roomIdOf(session.secret)).slice(0, 16)}…`;
  $('recsize').textContent = `${call.recordBytes} bytes`;
  $('recrate').textContent = recRate.toFixed(1);
  $('mediarate').textContent = mediaRate.toFixed(1);
  const pad = call.e2ePaddingStatus;
  $('padding').textContent = pad.active ? `on: ${pad.members} of at most ${pad.capacity} members` : `off (${pad.reason})`;
}

$('join').onclick = () => join().catch((e) => {
  demo.errors.push(`join: ${e.code ?? ''} ${e.message}`);
  $('status').textContent = `join failed: ${e.code ?? e.message}`;
  $('join').disabled = false;
});
$('leave').onclick = () => void leave();
setInterval(refresh, 500);
