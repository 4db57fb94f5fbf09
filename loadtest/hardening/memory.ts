/**
 * `npm run bench:hardening`: the relay's RSS growth under clients that never read (issue 9, items 2
 * and 3), measured on the real CLI relay as a child process (its RSS from /proc/<pid>/status):
 *
 *  (a) one `/v1/post` client floods 36-byte frames and never reads its answers;
 *  (b) 256 envelopes of 64 KiB in one mailbox, then 40 authenticated readers that never read:
 *      once with the default `maxReadersPerMailbox` (4: the newest replace the oldest) and once with
 *      the cap lifted to 64, so that only the in-flight window and the send-buffer bound hold memory.
 *
 * Each phase prints baseline RSS, peak RSS and the growth, and how every client was closed (the
 * clients start reading once the relay has given up on them, to see its close frame). The run fails
 * (exit 1) when a phase grows RSS by more than --bound-mib (default 64) or a client is not closed
 * with a stable code. The relay runs with `socketStallTimeoutSec` 5 (default 30) to keep the run
 * short; every other bound is at its default. Loopback only, bounded by --seconds per phase.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateMailboxKeys, postEnvelope } from '../../src/client/index.js';
import { POST_PATH } from '../../src/wire/envelope-protocol.js';
import { rawReader, until } from './raw-reader.js';
import { clientFrame, rawUpgrade, type RawWs } from './raw-ws.js';
import { spawnRelayProcess } from '../relay-process.js';

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? def : Number(args[i + 1]);
};
const SECONDS = arg('seconds', 15);
const BOUND_MIB = arg('bound-mib', 64);
const STALL_SEC = 5;
const MiB = 1024 * 1024;

interface ChildRelay {
  proc: ChildProcess;
  url: string;
  rss(): number;
  metric(name: string): Promise<number>;
  stop(): Promise<void>;
}

async function startRelay(dataDir: string, extra: string[]): Promise<ChildRelay> {
  const relay = await spawnRelayProcess(['--data-dir', dataDir, '--no-media-enabled', '--no-turn-enabled', '--log-level', 'info', '--envelope-socket-stall-timeout-sec', String(STALL_SEC), ...extra]);
  const { proc, url } = relay;
  return {
    proc,
    url,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) * 1024,
    async metric(name: string): Promise<number> {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(name + ' '));
      return line === undefined ? 0 : Number(line.slice(name.length + 1));
    },
    stop: () => relay.stop(),
  };
}

/** Samples the relay's RSS every 100 ms until stopped; returns the peak. */
function sampleRss(relay: ChildRelay): { stop(): number } {
  let peak = relay.rss();
  const timer = setInterval(() => (peak = Math.max(peak, relay.rss())), 100);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, relay.rss());
    },
  };
}

/** Lets a paused raw client read what the relay sent, up to its close frame (bounded wait). */
async function closeCodeOf(raw: RawWs): Promise<string> {
  raw.socket.resume();
  await until(() => raw.frames().some((f) => f.opcode === 8) || raw.socket.destroyed, 15_000).catch(() => undefined);
  raw.socket.destroy();
  const end = await raw.ended;
  return end.closeCode === undefined ? 'no close frame' : `${end.closeCode} ${end.reason}`;
}

interface PhaseResult {
  name: string;
  baseMiB: number;
  peakMiB: number;
  afterMiB: number;
  closes: Map<string, number>;
  note: string;
}

async function floodPhase(relay: ChildRelay): Promise<PhaseResult> {
  const base = relay.rss();
  const rss = sampleRss(relay);
  const raw = await rawUpgrade(relay.url, POST_PATH);
  raw.socket.pause(); // never read the answers
  const block = Buffer.concat(Array.from({ length: 1000 }, () => clientFrame(2, Buffer.alloc(36))));
  const started = Date.now();
  const deadline = started + Math.max(SECONDS, STALL_SEC + 10) * 1000;
  let sent = 0;
  let given = false;
  let lastCheck = 0;
  while (Date.now() < deadline && !raw.socket.destroyed && !given) {
    if (raw.socket.writableLength < 4 * MiB) {
      raw.socket.write(block);
      sent += 1000;
    } else await new Promise((r) => setTimeout(r, 10));
    if (Date.now() - lastCheck > 250) {
      lastCheck = Date.now();
      given = (await relay.metric('xrelay_envelopes_rejected_total{code="slow_consumer"}')) > 0;
    }
  }
  const gaveUpSec = (Date.now() - started) / 1000;
  const code = await closeCodeOf(raw);
  await new Promise((r) => setTimeout(r, 1000));
  const peak = rss.stop();
  return { name: '(a) /v1/post flood, never reading', baseMiB: base / MiB, peakMiB: peak / MiB, afterMiB: relay.rss() / MiB, closes: new Map([[code, 1]]), note: `${sent} frames of 36 B written; relay gave up after ${gaveUpSec.toFixed(1)} s` };
}

async function readersPhase(relay: ChildRelay, label: string, expectReplaced: number): Promise<PhaseResult> {
  const keys = await generateMailboxKeys();
  const body = new Uint8Array(65536);
  for (let i = 0; i < 256; i += 16) await Promise.all(Array.from({ length: 16 }, () => postEnvelope(relay.url, keys.mailboxId, body)));
  await new Promise((r) => setTimeout(r, 500));
  const base = relay.rss();
  const rss = sampleRss(relay);
  const readers: RawWs[] = [];
  for (let i = 0; i < 40; i++) {
    const r = await rawReader(relay.url, keys);
    r.socket.pause();
    readers.push(r);
  }
  const given = async (): Promise<number> =>
    (await relay.metric('xrelay_envelopes_rejected_total{code="slow_consumer"}')) + (await relay.metric('xrelay_envelopes_rejected_total{code="reader_replaced"}'));
  const deadline = Date.now() + Math.max(SECONDS, STALL_SEC + 10) * 1000;
  while (Date.now() < deadline && (await given()) < 40) await new Promise((r) => setTimeout(r, 250));
  const closes = new Map<string, number>();
  for (const code of await Promise.all(readers.map(closeCodeOf))) closes.set(code, (closes.get(code) ?? 0) + 1);
  await new Promise((r) => setTimeout(r, 1000));
  const peak = rss.stop();
  const replaced = await relay.metric('xrelay_envelopes_rejected_total{code="reader_replaced"}');
  return { name: `(b) 40 non-reading readers, 256 x 64 KiB, ${label}`, baseMiB: base / MiB, peakMiB: peak / MiB, afterMiB: relay.rss() / MiB, closes, note: `${replaced} replaced (expected ${expectReplaced})` };
}

async function withRelay<T>(extra: string[], fn: (relay: ChildRelay) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'xrelay-hardening-'));
  const relay = await startRelay(dataDir, extra);
  try {
    await new Promise((r) => setTimeout(r, 500)); // let start-up allocations settle
    return await fn(relay);
  } finally {
    await relay.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const results: PhaseResult[] = [];
  results.push(await withRelay([], floodPhase));
  results.push(await withRelay([], (r) => readersPhase(r, 'default maxReadersPerMailbox 4', 36)));
  results.push(await withRelay(['--envelope-max-readers-per-mailbox', '64'], (r) => readersPhase(r, 'maxReadersPerMailbox 64', 0)));

  console.log(`\nhardening memory: RSS of the relay process, node ${process.version}, bound ${BOUND_MIB} MiB growth per phase, stall timeout ${STALL_SEC} s`);
  console.log('| phase | base MiB | peak MiB | growth MiB | after MiB | closed with | note |');
  console.log('|---|---|---|---|---|---|---|');
  let ok = true;
  for (const r of results) {
    const growth = r.peakMiB - r.baseMiB;
    const closes = [...r.closes].map(([c, n]) => `${n} x ${c}`).join(', ');
    console.log(`| ${r.name} | ${r.baseMiB.toFixed(0)} | ${r.peakMiB.toFixed(0)} | ${growth.toFixed(1)} | ${r.afterMiB.toFixed(0)} | ${closes} | ${r.note} |`);
    if (growth > BOUND_MIB) ok = false;
    if ([...r.closes.keys()].some((c) => !/^44\d\d (slow_consumer|reader_replaced)$/.test(c))) ok = false;
  }
  if (!ok) {
    console.error(`FAIL: a phase grew RSS by more than ${BOUND_MIB} MiB, or a client was not closed with a stable code`);
    process.exit(1);
  }
  console.log('ok: every phase under the bound, every client closed with a stable code');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
