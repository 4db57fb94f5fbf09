// The cell bridge's own CPU cost (mixed rooms, docs/RTC.md): a 2-browser + 2-cell-client audio room on the
// TypeScript MediaCore in process, the edge side a counter, against a 4-cell-client room of the same size.
// Run: npm run build && node loadtest/rtc/bridge-cost.mjs   (ad hoc; prints µs of CPU per 20 ms tick)
import { randomBytes } from 'node:crypto';
import { MediaCore, SendBatch } from '../../dist/src/media/core/media-core.js';
import { CellBridge } from '../../dist/src/bridge/cell-bridge.js';
import { parseProfiles } from '../../dist/src/media/codec/profiles.js';
import { cellKey, sealCell } from '../../dist/src/media/crypto/cell-aead.js';
import { BodyWriter } from '../../dist/src/wire/cell-body.js';
const profiles = parseProfiles(['audio:20:160:480']);
const core = new MediaCore({ profiles, roomCap: 50, maxSessions: 1000, queueRecords: 16, queueMaxAgeMs: 200, idleTimeoutMs: 1e9, random16: () => 7 });
let now = 0;
const sinks = new Map();
const port = { join: (r, p, rx, tx) => core.join(r, p, rx, tx, now), receiveExternal: (c, s) => { const i = core.receive(c, now); if (i >= 0) sinks.set(i, s); return i; }, forgetSink: () => {}, now: () => now };
const bridge = new CellBridge(port);
let delivered = 0;
let members = 100;
bridge.attach({ addCellMember: () => members++, removeCellMember: () => {}, deliver: () => { delivered++; return true; } });
const room = randomBytes(32).toString('base64url');
// 2 browsers (bridged) + 2 cell clients (raw sessions sending one record per tick)
bridge.memberJoined(room, 'audio', 1); bridge.memberJoined(room, 'audio', 2);
const clients = [];
for (let i = 0; i < 2; i++) { const rx = randomBytes(32), tx = randomBytes(32); const j = core.join(Buffer.from(room, 'base64url'), 'audio', rx, tx, now); clients.push({ j, key: cellKey(rx), ctr: 0 }); }
const body = new Uint8Array(160); const w = new BodyWriter(); const frame = randomBytes(114); const rec = randomBytes(114);
const batch = new SendBatch();
const tick = (k) => {
  now = k * 20;
  for (const c of clients) { w.reset(body); w.add(0, rec); w.finish(); core.receive(sealCell(c.key, c.j.session, c.ctr++, body), now); }
  bridge.uplink(1, frame); bridge.uplink(2, frame);
  batch.reset(); core.poll(now, batch);
  for (let i = 0; i < batch.count; i++) sinks.get(batch.indexes[i])?.send(batch.cells[i]);
};
for (let k = 1; k < 2000; k++) tick(k);
const N = 20000; const t0 = process.cpuUsage(); const d0 = delivered;
for (let k = 2000; k < 2000 + N; k++) tick(k);
const t = process.cpuUsage(t0); const us = (t.user + t.system);
console.log(`${N} ticks of a 2+2 mixed room on the TS core: ${(us / N).toFixed(1)} µs CPU per tick (core + bridge + 2 client cells sealed), records to RTC ${delivered - d0}, bridge stats`, bridge.stats);
// baseline: same room, 4 raw cell clients, no bridge
{
  const core2 = new MediaCore({ profiles, roomCap: 50, maxSessions: 1000, queueRecords: 16, queueMaxAgeMs: 200, idleTimeoutMs: 1e9, random16: () => 7 });
  const cs = [];
  for (let i = 0; i < 4; i++) { const rx = randomBytes(32), tx = randomBytes(32); const j = core2.join(Buffer.from(room, 'base64url'), 'audio', rx, tx, 0); cs.push({ j, key: cellKey(rx), ctr: 0 }); }
  const b2 = new SendBatch();
  const tick2 = (k) => { const n = k * 20; for (const c of cs) { w.reset(body); w.add(0, rec); w.finish(); core2.receive(sealCell(c.key, c.j.session, c.ctr++, body), n); } b2.reset(); core2.poll(n, b2); };
  for (let k = 1; k < 2000; k++) tick2(k);
  const t0 = process.cpuUsage();
  for (let k = 2000; k < 2000 + N; k++) tick2(k);
  const t = process.cpuUsage(t0);
  console.log(`baseline, 4 cell clients on the TS core: ${((t.user + t.system) / N).toFixed(1)} µs CPU per tick (core + 4 client cells sealed)`);
}
