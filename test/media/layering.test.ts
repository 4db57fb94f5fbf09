/**
 * Blindness, as a build rule: no relay-side module (media, host, turn, envelope) imports the
 * client SDK or the end-to-end crypto library, directly or through its own imports.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');
/** Every directory of src/ but the SDK's: a new relay directory is covered without editing this list. */
const RELAY_DIRS = readdirSync(SRC).filter((d) => d !== 'client' && statSync(join(SRC, d)).isDirectory());

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
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
  return specs;
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

  it('the rule would catch a violation', () => {
    expect(imports(join(SRC, 'client/crypto-lib.ts')).some((s) => s === 'libsodium-wrappers')).toBe(true);
  });
});
