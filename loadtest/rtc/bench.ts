/**
 * npm run bench:rtc -- [--members 12] [--room-size 3] [--duration-ms 5000] [--payload 114] [--rtc-only]
 *
 * One relay process (`xrelay serve`, native data plane when it loads), measured twice in the same
 * run with the same rooms, members and cadence (one 20 ms audio frame per member, to every other
 * member of its room):
 *  - rtc: werift clients through the WebRTC edge (SRTP in and out per hop, werift's RTP stack);
 *  - cells: Node SDK clients (UDP cells) through the media plane (`audio-room` profile: padded
 *    cells at a fixed cadence, hop AEAD, fan-out).
 * For each: forwarded packets/s at the relay (`xrelay_rtc_forwarded_packets_total`, or
 * `xrelay_media_records_forwarded_total`), relay CPU (user + system from /proc) per forwarded
 * packet, and the implied forwarded packets/s per core; then the ratio. The clients run in this
 * process, so at larger sizes they, not the relay, may be the limit (the loss column says).
 * Then downlink padding alone (rtc.audioPadding: every receive slot of silent members paced with
 * padding-only packets): relay CPU per padding packet. During the rtc phase the pacer also pads a
 * slot whenever a member's timer runs late (counted apart, not in the forwarded packets).
 * Anchor: LiveKit's published audio benchmark, ~56-75k forwarded packets/s per busy core.
 * The default payload is what the browser SDK puts in every audio packet (SEALED_AUDIO_BYTES);
 * `xrelay load --scenario rtc-rooms` is the same edge under the load kit's speech model and report.
 * --rtc-only: the relay without its media plane (so without the cell bridge of mixed rooms, which
 * otherwise seals every WebRTC audio uplink into the cell room too), the WebRTC phases only: the
 * edge's own cost. XRELAY_BENCH_NODE_ARGS passes node flags to the relay (e.g. --cpu-prof).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallClient } from '../../src/client/node.js';
import { SEALED_AUDIO_BYTES } from '../../src/client/rtc/frame-e2ee.js';
import { spawnRelayProcess, type RelayProcess } from '../relay-process.js';
import { EdgeClient, roomId } from './edge-client.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const members = Number(arg('members', '12'));
const roomSize = Number(arg('room-size', '3'));
const durationMs = Number(arg('duration-ms', '5000'));
const payload = Number(arg('payload', String(SEALED_AUDIO_BYTES)));
const rtcOnly = process.argv.includes('--rtc-only');
const WARMUP_MS = 1500;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Relay CPU time (user + system) in microseconds, from /proc/<pid>/stat (clock ticks of 10 ms). */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

async function metric(relay: RelayProcess, prefix: string): Promise<number> {
  const text = await (await fetch(`${relay.url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

interface Result {
  name: string;
  seconds: number;
  packetsPerSec: number;
  cpuUsPerPacket: number;
  /** Packets the members' timers actually sent in the window, times the fan-out: what the relay was offered. */
  offered: number;
  forwarded: number;
}

/**
 * Runs `durationMs` after warm-up: forwarded packets (metric delta), relay CPU, and what the
 * members really sent (`sent()`: their timers lag when this process is the limit) over that window.
 */
async function measure(relay: RelayProcess, name: string, counter: string, sent: () => number): Promise<Result> {
  await sleep(WARMUP_MS);
  const pid = relay.proc.pid!;
  const [c0, p0, s0, t0] = [cpuUs(pid), await metric(relay, counter), sent(), performance.now()];
  await sleep(durationMs);
  const [c1, p1, s1, t1] = [cpuUs(pid), await metric(relay, counter), sent(), performance.now()];
  const seconds = (t1 - t0) / 1000;
  const forwarded = p1 - p0;
  return { name, seconds, packetsPerSec: forwarded / seconds, cpuUsPerPacket: (c1 - c0) / Math.max(1, forwarded), offered: (s1 - s0) * (roomSize - 1), forwarded };
}

/** `members` werift members in rooms of `roomSize`, joined through the edge and connected (into `clients`, so the caller can leave them). */
async function joinRooms(relay: RelayProcess, clients: EdgeClient[]): Promise<void> {
  for (let r = 0; r < members / roomSize; r++) {
    const room = roomId();
    for (let m = 0; m < roomSize; m++) {
      const c = new EdgeClient(roomSize - 1);
      clients.push(c);
      const res = await c.join(relay.url, room, 'audio');
      if (res.status !== 201) throw new Error(`rtc join: ${res.status} ${res.body}`);
    }
  }
  await Promise.all(clients.map((c) => c.connected()));
}

async function rtcPhase(relay: RelayProcess): Promise<Result> {
  const clients: EdgeClient[] = [];
  try {
    await joinRooms(relay, clients);
    clients.forEach((c, i) => c.startSending(`m${i}`, payload));
    return await measure(relay, 'rtc (werift, SRTP per hop)', 'xrelay_rtc_forwarded_packets_total', () => clients.reduce((n, c) => n + c.sentPackets, 0));
  } finally {
    await leaveAll(relay, clients);
  }
}

/**
 * Downlink padding alone: the same rooms, nobody sends, so every audio receive slot is paced with
 * padding-only packets (rtc.audioPadding): relay CPU per padding packet sent.
 */
async function padPhase(relay: RelayProcess): Promise<Result> {
  const clients: EdgeClient[] = [];
  try {
    await joinRooms(relay, clients);
    // What is owed: 50 per second per slot (measure() multiplies by the room's fan-out, roomSize - 1 slots per member).
    return await measure(relay, 'rtc padding only (pacer)', 'xrelay_rtc_padding_packets_total', () => (members * 50 * performance.now()) / 1000);
  } finally {
    await leaveAll(relay, clients);
  }
}

/** Leaves (DELETE) then closes: a closed peer's session would otherwise live on at the relay until its idle timeout, its slots padded, its CPU in the next phase. */
async function leaveAll(relay: RelayProcess, clients: EdgeClient[]): Promise<void> {
  await Promise.all(clients.map((c) => (c.location ? fetch(relay.url + c.location, { method: 'DELETE' }).catch(() => undefined) : undefined)));
  await Promise.all(clients.map((c) => c.close()));
}

async function cellPhase(relay: RelayProcess): Promise<Result> {
  const calls: CallClient[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    for (let r = 0; r < members / roomSize; r++) {
      const secret = randomBytes(32);
      for (let m = 0; m < roomSize; m++) calls.push(await CallClient.join({ relay: relay.url, callSecret: secret, profile: 'audio-room', transport: 'udp' }));
    }
    const frame = new Uint8Array(Math.min(payload, calls[0]!.capacity)); // the audio-room profile's frame capacity
    let sent = 0;
    for (const c of calls)
      timers.push(
        setInterval(() => {
          c.send(frame);
          sent++;
        }, 20),
      );
    return await measure(relay, 'cells (media plane, UDP)', 'xrelay_media_records_forwarded_total', () => sent);
  } finally {
    timers.forEach(clearInterval);
    await Promise.all(calls.map((c) => c.close()));
  }
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xrelay-bench-rtc-'));
  const relay = await spawnRelayProcess([
    '--data-dir', dataDir, '--log-level', 'info', '--media-udp-port', '0', '--turn-enabled=false',
    '--rtc-port', '0', '--rtc-join-burst', '10000', '--rtc-max-sessions-per-address', '10000', '--rtc-room-cap', String(roomSize),
    '--media-join-burst', '10000', '--media-max-sessions-per-address', '10000', ...(rtcOnly ? ['--media-enabled=false'] : []),
  ]);
  try {
    console.log(`bench:rtc: ${members} members in rooms of ${roomSize}, one ${payload}-byte frame per member per 20 ms (cells: capped at the profile's frame capacity), ${durationMs} ms measured after ${WARMUP_MS} ms warm-up`);
    if (rtcOnly) console.log('--rtc-only: no media plane, no cell bridge');
    const results = rtcOnly ? [await rtcPhase(relay), await padPhase(relay)] : [await rtcPhase(relay), await cellPhase(relay), await padPhase(relay)];
    const nominal = members * (roomSize - 1) * 50;
    for (const r of results) {
      const loss = Math.max(0, 1 - r.forwarded / Math.max(1, r.offered));
      console.log(
        `${r.name.padEnd(30)} ${r.packetsPerSec.toFixed(0).padStart(7)} forwarded packets/s  ${r.cpuUsPerPacket.toFixed(1).padStart(6)} us relay CPU per packet  (=${(1e6 / r.cpuUsPerPacket).toFixed(0)} packets/s per core)  offered ${(r.offered / r.seconds).toFixed(0)}/s of a nominal ${nominal}/s (the rest: this process's timers late), ${(loss * 100).toFixed(1)}% of the offered not forwarded`,
      );
    }
    const [rtc, cells] = results as [Result, Result];
    if (!rtcOnly) console.log(`ratio: the WebRTC edge costs ${(rtc.cpuUsPerPacket / cells.cpuUsPerPacket).toFixed(2)}x the cell data plane's CPU per forwarded packet (anchor: LiveKit ~56-75k forwarded packets/s per busy core, i.e. 13-18 us/packet)`);
    const perCore = 1e6 / rtc.cpuUsPerPacket;
    console.log(`anchor: the edge's ${perCore.toFixed(0)} forwarded packets/s per core is ${(perCore / 56_000).toFixed(3)}-${(perCore / 75_000).toFixed(3)}x LiveKit's ~56-75k (1/${(56_000 / perCore).toFixed(0)} to 1/${(75_000 / perCore).toFixed(0)})`);
  } finally {
    await relay.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
