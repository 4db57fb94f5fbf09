// The one UDP port's own per-datagram cost (docs/RTC.md, "Transport and ports"): the demux path a
// latched RTP datagram takes (first byte, two Map reads, hand-off to werift's receiver, here a
// counter), 500 sessions with one 5-tuple each, no socket I/O. It reaches the mux's private
// `receive` and table directly (ad hoc, not an API).
// Run: npm run build && node loadtest/rtc/udp-mux-cost.mjs   (prints ns per datagram, 3 runs)
import { randomBytes } from 'node:crypto';
import { RtcUdpMux } from '../../dist/src/rtc/server/udp-mux.js';
import { RtcCounters } from '../../dist/src/rtc/server/rtc-metrics.js';

const SESSIONS = 500;
const N = 2_000_000;
const counters = new RtcCounters();
const mux = await RtcUdpMux.open({ host: '127.0.0.1', port: 0, maxTuplesPerSession: 8, bufferBytes: 1 << 20 }, counters.drops, { warn() {} });
let delivered = 0;
const receiver = { datagramReceived() { delivered++; } };
const addrs = Array.from({ length: SESSIONS }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
for (let i = 0; i < SESSIONS; i++) {
  const s = mux.reserve();
  s.value.receiver = receiver;
  mux.demux.latch(s, addrs[i], 40_000 + i); // what an authenticated check does
}
const rtp = Buffer.concat([Buffer.from([0x80, 0x6f]), randomBytes(160)]);
const receive = mux.receive.bind(mux);
for (let run = 0; run < 3; run++) {
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < N; k++) receive(rtp, addrs[k % SESSIONS], 40_000 + (k % SESSIONS));
  console.log(`latched RTP datagram through the demux, ${SESSIONS} sessions: ${(Number(process.hrtime.bigint() - t0) / N).toFixed(0)} ns`);
}
if (delivered !== 3 * N) throw new Error(`delivered ${delivered} of ${3 * N}`);
await mux.close();
