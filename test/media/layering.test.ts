/**
 * Blindness, as a build rule: no relay-side module (media, host, turn, envelope) imports the
 * client SDK or the end-to-end crypto library, directly or through its own imports.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');
/**
 * Every directory of src/ but the SDK's and the load kit's (src/load: a client of the relay, shipped
 * for `xrelay load`): a new relay directory is covered without editing this list.
 */
const CLIENT_SIDE = ['client', 'load'];
const RELAY_DIRS = readdirSync(SRC).filter((d) => !CLIENT_SIDE.includes(d) && statSync(join(SRC, d)).isDirectory());
/** The one way into the load kit: the CLI's dynamic import for `xrelay load` (so `xrelay serve` never loads it). */
const LOAD_ENTRY = { from: join(SRC, 'cli/main.ts'), spec: '../load/cli.js' };

function files(dir: string): string[] {
  let out: string[] = [];
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  return importSpecs(file).map((s) => s.spec);
}

/** Import specifiers of a file, static (`import ... from`) or dynamic (`import('...')`). */
function importSpecs(file: string): { spec: string; dynamic: boolean }[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => ({ spec: m[1] ?? m[2]!, dynamic: m[1] === undefined }));
}

function resolveSpec(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return resolve(dirname(from), spec).replace(/\.js$/, '.ts');
}

describe('relay modules never reach end-to-end keys', () => {
  it('no module under src/ outside src/client imports src/client or libsodium, transitively', () => {
    const bad: string[] = [];
    const seen = new Set<string>();
    const visit = (file: string, root: string): void => {
      if (seen.has(root + '>' + file)) return;
      seen.add(root + '>' + file);
      for (const spec of imports(file)) {
        if (spec.startsWith('libsodium')) bad.push(`${root} -> ${file} imports ${spec}`);
        const target = resolveSpec(file, spec);
        if (target === undefined) continue;
        if (target.startsWith(join(SRC, 'client'))) bad.push(`${root} -> ${file} imports ${spec}`);
        else if (target.startsWith(join(SRC, 'load'))) {
          if (file !== LOAD_ENTRY.from || spec !== LOAD_ENTRY.spec) bad.push(`${root} -> ${file} imports the load kit (${spec})`);
        }
        else if (target.startsWith(SRC)) {
          try {
            statSync(target);
            visit(target, root);
          } catch {
            /* type-only or missing: ignore */
          }
        }
      }
    };
    expect(RELAY_DIRS).toEqual(expect.arrayContaining(['media', 'host', 'turn', 'envelope', 'crypto', 'config', 'limits']));
    const roots = RELAY_DIRS.flatMap((d) => files(join(SRC, d)));
    expect(roots.length).toBeGreaterThan(5);
    for (const f of roots) visit(f, f);
    expect(bad).toEqual([]);
  });

  it('the CLI reaches the load kit only by a dynamic import (xrelay load), never statically', () => {
    const edge = importSpecs(LOAD_ENTRY.from).find((s) => s.spec === LOAD_ENTRY.spec);
    expect(edge).toEqual({ spec: LOAD_ENTRY.spec, dynamic: true });
  });

  it('the rule would catch a violation', () => {
    expect(imports(join(SRC, 'client/crypto-lib.ts')).some((s) => s === 'libsodium-wrappers')).toBe(true);
  });
});
