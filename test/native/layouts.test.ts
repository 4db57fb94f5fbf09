/**
 * One table per kind of thing across the native boundary: the C++ lists (stats X-macros, the join
 * error, drop and close enums) are parsed from native/src and compared with the TypeScript tables;
 * the built addon reports the same stats layouts; and an addon whose layout differs is refused
 * with a clear reason, the TypeScript planes serving instead (a real CLI run with a fake addon).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tryLoadAddon } from '../../src/native/addon.js';
import { layoutMismatch } from '../../src/native/layout.js';
import { CLOSE_REASONS, DROP_REASONS, DROP_THROTTLED, JOIN_ERRORS } from '../../src/media/core/media-core.js';
import { CORE_STATS, loadMediaAddon } from '../../src/media/dataplane/native-core.js';
import { loadNativeTurn, NATIVE_TURN_STATS } from '../../src/turn/server/native-turn.js';
import { CLI } from '../helpers/child-relay.js';
import { tempDir } from '../helpers/relay.js';

const NATIVE = resolve(__dirname, '../../native/src');
const source = (file: string): string => readFileSync(join(NATIVE, file), 'utf8');

/** The names of an X-macro list: `#define NAME(X) \ X("a", ...) \ X("b", ...)`. */
function xMacroNames(text: string, macro: string): string[] {
  const m = new RegExp(`#define ${macro}\\(X\\)((?:[^\\n]*\\\\\\n)+[^\\n]*)`).exec(text);
  if (m === null) throw new Error(`#define ${macro} not found`);
  return [...m[1]!.matchAll(/X\("([A-Za-z]+)",/g)].map((x) => x[1]!);
}

/** `enum Name { kPrefixFooBar = -1, kPrefixBaz, ... }` as [snake_name, value] pairs (implicit values counted). */
function cppEnum(text: string, name: string, prefix: string): [string, number][] {
  const m = new RegExp(`enum ${name}\\s*(?::\\s*\\w+\\s*)?\\{([^}]*)\\}`).exec(text);
  if (m === null) throw new Error(`enum ${name} not found`);
  let next = 0;
  return m[1]!.split(',').map((e) => {
    const [id, value] = e.split('=').map((x) => x.trim()) as [string, string | undefined];
    const v = value === undefined ? next : Number(value);
    next = v + 1;
    if (!id.startsWith(prefix)) throw new Error(`${id} lacks the prefix ${prefix}`);
    const snake = id.slice(prefix.length).replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
    return [snake, v] as [string, number];
  });
}

describe('native tables match the TypeScript ones', () => {
  it('join errors: enum JoinError (cell_core.h) is JOIN_ERRORS', () => {
    expect(Object.fromEntries(cppEnum(source('cell_core.h'), 'JoinError', 'kJoin'))).toEqual(JOIN_ERRORS);
  });

  it('drop and close reasons: enums Drop and Close (cell_core.h) are DROP_REASONS and CLOSE_REASONS, in order', () => {
    const drops = cppEnum(source('cell_core.h'), 'Drop', 'kDrop');
    expect(drops.pop()).toEqual(['count', DROP_THROTTLED]); // the native core never throttles
    expect(drops).toEqual(DROP_REASONS.slice(1, DROP_THROTTLED).map((n, i) => [n, i + 1]));
    const closes = cppEnum(source('cell_core.h'), 'Close', 'kClose');
    expect(closes.pop()).toEqual(['count', CLOSE_REASONS.length]);
    expect(closes).toEqual(CLOSE_REASONS.slice(1).map((n, i) => [n, i + 1]));
  });

  it('stats layouts: XR_CORE_STATS (addon.cc) is CORE_STATS, XR_TURN_STATS (turn_addon.cc) is NATIVE_TURN_STATS', () => {
    expect(xMacroNames(source('addon.cc'), 'XR_CORE_STATS')).toEqual(CORE_STATS);
    expect(xMacroNames(source('turn_addon.cc'), 'XR_TURN_STATS')).toEqual(NATIVE_TURN_STATS);
  });

  it('the built addon reports those layouts (CI builds the addon: its absence fails here)', () => {
    const media = loadMediaAddon();
    expect(media.reason).toBe('loaded');
    expect(media.addon!.coreStatsLayout).toEqual({ scalars: CORE_STATS, closes: CLOSE_REASONS.length, drops: DROP_THROTTLED });
    expect(loadNativeTurn().reason).toBe('loaded');
  });
});

describe('an addon with another layout is refused', () => {
  const dir = tempDir();
  const fake = join(dir, 'fake-addon.cjs');
  // Loads like a build of this ABI, but its core stats renamed a field and its TURN stats lost one.
  writeFileSync(
    fake,
    `module.exports = { abiVersion: 4, NativeCore: function () {}, NativeTurn: function () {},
      coreStatsLayout: { scalars: ${JSON.stringify(['extra', ...CORE_STATS.slice(1)])}, closes: 3, drops: 8 },
      turnStatsLayout: ${JSON.stringify(NATIVE_TURN_STATS.slice(0, -1))} };`,
  );

  it('by the loaders, naming what differs', () => {
    const load = (): ReturnType<typeof tryLoadAddon> => tryLoadAddon([fake]);
    expect(load().reason).toBe('loaded');
    expect(loadMediaAddon(load)).toEqual({ reason: expect.stringMatching(/^addon media core stats layout field 0 is "extra", this build expects "cellsIn"/) });
    expect(loadNativeTurn(load)).toEqual({ reason: expect.stringMatching(/^addon TURN stats layout has 17 fields, this build expects 18/) });
    expect(layoutMismatch('x', undefined, ['a'])).toMatch(/no x layout/);
    expect(layoutMismatch('x', ['a'], ['a'])).toBeUndefined();
  });

  it('xrelay serve with it: both planes serve on TypeScript and the log says why', async () => {
    const args = ['serve', '--host', '127.0.0.1', '--http-port', '0', '--rtc-port', '0', '--media-udp-port', '0', '--turn-port', '0', '--data-dir', tempDir()];
    const env = { ...process.env, XRELAY_NATIVE_ADDON: fake, XRELAY_LOG_LEVEL: 'info' };
    delete env.XRELAY_NATIVE;
    const proc = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d) => (out += String(d)));
    proc.stderr.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((r) => proc.on('exit', (code) => r(code)));
    await expect.poll(() => out.includes('"msg":"relay listening"') || proc.exitCode !== null, { timeout: 15_000, interval: 50 }).toBe(true);
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; dataPlane?: string; why?: string });
    const media = lines.find((l) => l.msg.startsWith('media plane listening'));
    const turn = lines.find((l) => l.msg.startsWith('turn plane listening'));
    expect(media).toMatchObject({ dataPlane: 'typescript', why: expect.stringMatching(/^native unavailable: addon media core stats layout field 0/) });
    expect(turn).toMatchObject({ dataPlane: 'typescript', why: expect.stringMatching(/^native unavailable: addon TURN stats layout has 17 fields/) });
  }, 30_000);

  it('xrelay serve with it and XRELAY_NATIVE=1: a start-up error naming the layout', async () => {
    const args = ['serve', '--host', '127.0.0.1', '--http-port', '0', '--rtc-port', '0', '--media-udp-port', '0', '--no-turn-enabled', '--data-dir', tempDir()];
    const proc = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, XRELAY_NATIVE_ADDON: fake, XRELAY_NATIVE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d) => (err += String(d)));
    const code = await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
    expect(code).toBe(1);
    expect(err).toMatch(/native requested \(XRELAY_NATIVE=1\) but addon media core stats layout field 0 is "extra"/);
  }, 30_000);
});
