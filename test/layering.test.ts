/**
 * The shape of src/, as a build rule. Every import of every module (static `import`/`export ...
 * from`, side-effect `import '...'`, dynamic `import('...')` with a literal) is parsed and checked:
 *
 * - direction: a module imports only modules of its own rank or lower (RANKS below), so the arrows
 *   run codec -> crypto -> store -> core -> push -> native/dataplane -> host -> server -> composition
 *   root (src/relay*.ts) -> CLI;
 * - planes (envelope, media, turn) import nothing of one another: only src/relay*.ts sees them all;
 * - no folder-level cycle (the folder graph is built and its strongly connected components found);
 * - no relay module imports the SDK (src/client) or libsodium; the SDK imports only itself,
 *   src/wire and types of src/errors.ts;
 * - nothing in src/ imports (or names by path) loadtest/ or test/.
 *
 * A folder that is not in RANKS fails the test: a new folder is placed on purpose, not by accident.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../src');
const PLANES = new Set(['envelope', 'media', 'turn', 'rtc']);

/**
 * Ranks, low to high: a module may import a module of equal or lower rank. Keys are folders under
 * src/ ("wire"), plane rooms ("*\/core" for every plane) or top-level files ("relay.ts").
 */
const RANKS: ReadonlyArray<readonly [string, number]> = [
  ['errors.ts', 0],
  ['wire', 0],
  ['observability', 1],
  ['limits', 1],
  ['crypto', 3],
  ['*/codec', 4],
  // Config validates media profiles with the media codec's one table (config/validate.ts).
  ['config', 4.5],
  ['*/crypto', 5],
  // The one ioredis client factory, shared by the envelope store/bus and the media room registry.
  ['redis', 5.5],
  ['*/store', 6],
  ['*/core', 7],
  ['*/push', 8],
  ['native', 9],
  ['*/dataplane', 10],
  ['host', 11],
  ['*/server', 12],
  // Mixed rooms: the cell bridge joins the WebRTC edge and the media plane through the ports each
  // plane's server room exports (RtcMixedPort/CellBridgePort, CellPort), so neither plane imports
  // the other; it sits above both servers and below the composition root that wires it.
  ['bridge', 12.5],
  ['relay.ts', 13],
  ['relay-reload.ts', 13],
  ['index.ts', 14],
  ['cli', 14],
  // The load kit: a client of the relay (it uses the SDK), loaded by `xrelay load` only.
  ['load', 14],
];
/** Folders that drive the relay as a client: they may use the SDK and libsodium (they are not relay modules). */
const SDK_USERS = new Set(['load']);
/** What the SDK may import besides itself: codecs and the error-code type. */
const SDK_MAY_IMPORT = ['wire/', 'errors.ts'];

/**
 * Known exceptions, `importer -> imported` (paths under src/). Empty since both halves of issue 10
 * landed; an entry that no longer matches an import fails the test, so the list can only shrink.
 */
const ALLOWED_EXCEPTIONS: readonly string[] = [];

interface Violation {
  readonly rule: 'rank' | 'cross-plane' | 'cycle' | 'sdk' | 'blind' | 'outside-src' | 'unranked';
  readonly edge: string;
}

/** Import specifiers of one module's text. */
function importsOf(text: string): string[] {
  const specs: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^'";]*?\sfrom\s*['"]([^'"]+)['"]/gm, // import x from '...', export { x } from '...'
    /^\s*import\s*['"]([^'"]+)['"]/gm, // import '...'
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, // import('...')
  ];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.push(m[1]!);
  return specs;
}

/** Path-like literals naming a dev folder (e.g. `new URL('../../loadtest/kit/cli.js', import.meta.url)`). */
function devPathLiterals(text: string): string[] {
  return [...text.matchAll(/['"`]((?:\.\.\/)+(?:loadtest|test)\/[^'"`]*)['"`]/g)].map((m) => m[1]!);
}

/** True when every import of `target` (a path ending) in `text` is `import type`. */
function onlyTypesFrom(text: string, target: string): boolean {
  const all = [...text.matchAll(/^\s*(import|export)(\s+type)?\s[^'";]*?\sfrom\s*['"]([^'"]+)['"]/gm)].filter((m) => m[3]!.endsWith(target));
  return all.every((m) => m[1] === 'import' && m[2] !== undefined);
}

function rankKey(file: string): string {
  const parts = file.split('/');
  if (parts.length === 1) return file;
  if (PLANES.has(parts[0]!) && parts.length > 2) return `*/${parts[1]}`;
  return parts[0]!;
}

function rankOf(file: string): number | undefined {
  const key = rankKey(file);
  return RANKS.find(([k]) => k === key)?.[1];
}

/**
 * The folder a module counts under in the folder graph: its directory, or the file itself at the
 * top. A dev tool (the load kit) counts as one folder: its sub-folders are its own business.
 */
function folderOf(file: string): string {
  const top = file.split('/')[0]!;
  if (SDK_USERS.has(top)) return top;
  const dir = posix.dirname(file);
  return dir === '.' ? file : dir;
}

/** Edges `importer -> target` of every module (targets under src/ or outside it, e.g. `loadtest/...`). */
function edgesOf(files: ReadonlyMap<string, string>): Array<{ from: string; to: string; external?: string }> {
  const edges: Array<{ from: string; to: string; external?: string }> = [];
  for (const [file, text] of files) {
    for (const spec of importsOf(text)) {
      if (!spec.startsWith('.')) {
        edges.push({ from: file, to: '', external: spec });
        continue;
      }
      const abs = posix.join('/src', posix.dirname(file), spec);
      const rel = posix.relative('/src', abs);
      if (rel.startsWith('..')) edges.push({ from: file, to: rel.replace(/^(\.\.\/)+/, ''), external: rel });
      else edges.push({ from: file, to: rel.replace(/\.js$/, '.ts') });
    }
    for (const lit of devPathLiterals(text)) {
      const rel = posix.relative('/src', posix.join('/src', posix.dirname(file), lit));
      if (rel.startsWith('..')) edges.push({ from: file, to: rel.replace(/^(\.\.\/)+/, ''), external: rel });
    }
  }
  return edges;
}

/** Strongly connected components of more than one node (Tarjan). */
function cyclesOf(graph: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Every violation of the rules above in `files` (path under src/ -> source text). */
function checkLayering(files: ReadonlyMap<string, string>, allowed: readonly string[] = []): Violation[] {
  const out: Violation[] = [];
  const allow = new Set(allowed);
  const folders = new Map<string, Set<string>>();
  for (const file of files.keys()) {
    if (!file.startsWith('client/') && rankOf(file) === undefined) out.push({ rule: 'unranked', edge: file });
  }
  for (const { from, to, external } of edgesOf(files)) {
    const edge = `${from} -> ${external === undefined ? to : to || external}`;
    if (allow.has(edge)) continue;
    const sdk = from.startsWith('client/');
    const sdkUser = SDK_USERS.has(from.split('/')[0]!);
    if (external !== undefined && to === '') {
      if (!sdk && !sdkUser && external.startsWith('libsodium')) out.push({ rule: 'blind', edge });
      continue;
    }
    if (external !== undefined) {
      out.push({ rule: 'outside-src', edge });
      continue;
    }
    if (sdk) {
      if (!to.startsWith('client/') && !SDK_MAY_IMPORT.some((p) => to.startsWith(p))) out.push({ rule: 'sdk', edge });
      else if (to === 'errors.ts' && !onlyTypesFrom(files.get(from)!, 'errors.js')) out.push({ rule: 'sdk', edge }); // the codes, not the relay's error class
      continue;
    }
    if (to.startsWith('client/')) {
      if (!sdkUser) out.push({ rule: 'blind', edge });
      continue;
    }
    const [fromTop, toTop] = [from.split('/')[0]!, to.split('/')[0]!];
    if (PLANES.has(fromTop) && PLANES.has(toTop) && fromTop !== toTop) out.push({ rule: 'cross-plane', edge });
    const [rf, rt] = [rankOf(from), rankOf(to)];
    if (rf !== undefined && rt !== undefined && rt > rf) out.push({ rule: 'rank', edge });
    const [ff, ft] = [folderOf(from), folderOf(to)];
    if (ff !== ft) {
      if (!folders.has(ff)) folders.set(ff, new Set());
      folders.get(ff)!.add(ft);
    }
  }
  for (const scc of cyclesOf(folders)) out.push({ rule: 'cycle', edge: scc.join(' <-> ') });
  return out;
}

function readSrc(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = join(dir, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.set(relative(SRC, p).split('\\').join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(SRC);
  return files;
}

describe('layering of src/', () => {
  const real = readSrc();

  it('reads every module and every kind of import', () => {
    expect(real.size).toBeGreaterThan(150);
    expect(importsOf("import a from './a.js';\nimport type {\n  B,\n  C,\n} from '../b.js';\nexport * from './c.js';\nimport './d.js';\nconst e = await import('./e.js');")).toEqual(['./a.js', '../b.js', './c.js', './d.js', './e.js']);
  });

  it('holds for src/ (with the known exceptions of the other half of the reshape)', () => {
    expect(checkLayering(real, ALLOWED_EXCEPTIONS)).toEqual([]);
  });

  it('every known exception still exists (the list only shrinks)', () => {
    const edges = new Set(checkLayering(real).map((v) => v.edge));
    expect(ALLOWED_EXCEPTIONS.filter((e) => !edges.has(e))).toEqual([]);
  });

  it('refuses each kind of bad import when one is added', () => {
    const withBad = (path: string, text: string): Violation[] => {
      const files = new Map(real);
      files.set(path, text);
      return checkLayering(files, ALLOWED_EXCEPTIONS);
    };
    const cases: Array<[string, string, Violation['rule'], string]> = [
      ['envelope/core/bad.ts', "import { startEnvelopePlane } from '../server/envelope-plane.js';", 'rank', 'envelope/core/bad.ts -> envelope/server/envelope-plane.ts'],
      ['crypto/bad.ts', "import type { MailboxService } from '../envelope/core/mailbox-service.js';", 'rank', 'crypto/bad.ts -> envelope/core/mailbox-service.ts'],
      ['host/bad.ts', "export { startRelay } from '../relay.js';", 'rank', 'host/bad.ts -> relay.ts'],
      ['turn/core/bad.ts', "import { MediaCore } from '../../media/core/media-core.js';", 'cross-plane', 'turn/core/bad.ts -> media/core/media-core.ts'],
      ['media/core/bad.ts', "import sodium from 'libsodium-wrappers';", 'blind', 'media/core/bad.ts -> libsodium-wrappers'],
      ['envelope/server/bad.ts', "const m = await import('../../client/api.js');", 'blind', 'envelope/server/bad.ts -> client/api.ts'],
      ['client/bad.ts', "import { ReplayWindow } from '../media/core/replay-window.js';", 'sdk', 'client/bad.ts -> media/core/replay-window.ts'],
      ['client/bad2.ts', "import { RelayError } from '../errors.js';", 'sdk', 'client/bad2.ts -> errors.ts'],
      ['config/bad.ts', "import { run } from '../../loadtest/kit/cli.js';", 'outside-src', 'config/bad.ts -> loadtest/kit/cli.js'],
      ['limits/bad.ts', "const kit = new URL('../../loadtest/kit/main.js', import.meta.url);", 'outside-src', 'limits/bad.ts -> loadtest/kit/main.js'],
      ['webrtc/edge.ts', "export const x = 1;", 'unranked', 'webrtc/edge.ts'],
    ];
    for (const [path, text, rule, edge] of cases) expect(withBad(path, text), path).toContainEqual({ rule, edge });
  });

  it('finds a folder-level cycle that ranks alone would let through', () => {
    const files = new Map(real);
    // observability and limits share a rank: only the folder graph sees the loop.
    files.set('limits/bad.ts', "import { createLogger } from '../observability/log.js';");
    files.set('observability/bad.ts', "import { RateLimiter } from '../limits/rate-limiter.js';");
    const found = checkLayering(files, ALLOWED_EXCEPTIONS);
    expect(found.filter((v) => v.rule !== 'cycle')).toEqual([]);
    expect(found).toContainEqual({ rule: 'cycle', edge: 'limits <-> observability' });
  });
});

/**
 * The sans-IO rule of STYLE.md, which import edges alone cannot show: a plane's `core/` takes bytes
 * and `now` and returns actions; it opens no socket or file and reads no clock or timer of its own.
 */
const SANS_IO_FORBIDDEN: ReadonlyArray<readonly [RegExp, string]> = [
  [/from\s*['"]node:(net|dgram|http|https|http2|tls|fs|fs\/promises|child_process)['"]/, 'imports an I/O module'],
  [/\bDate\.now\s*\(/, 'reads the wall clock'],
  [/\bperformance\.now\s*\(/, 'reads the monotonic clock'],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, 'arms a timer'],
];

function sansIoViolations(files: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    const parts = file.split('/');
    if (!(PLANES.has(parts[0]!) && parts[1] === 'core')) continue;
    const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, ''); // comments may name what code may not do
    for (const [re, what] of SANS_IO_FORBIDDEN) if (re.test(code)) out.push(`${file}: ${what}`);
  }
  return out;
}

describe('sans-IO cores', () => {
  const real = readSrc();

  it('no plane core opens a socket or file, reads a clock or arms a timer', () => {
    expect([...real.keys()].filter((f) => /^(envelope|media|turn)\/core\//.test(f)).length).toBeGreaterThan(10);
    expect(sansIoViolations(real)).toEqual([]);
  });

  it('refuses each of those when one is added', () => {
    for (const [text, what] of [
      ["import { createSocket } from 'node:dgram';", 'imports an I/O module'],
      ['export const t = (): number => Date.now();', 'reads the wall clock'],
      ['export const m = (): number => performance.now();', 'reads the monotonic clock'],
      ['setTimeout(() => undefined, 10);', 'arms a timer'],
    ] as const) {
      const files = new Map(real);
      files.set('media/core/bad.ts', text);
      expect(sansIoViolations(files)).toEqual([`media/core/bad.ts: ${what}`]);
    }
  });
});
