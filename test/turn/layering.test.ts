// TURN and media share the native layer (src/native), not each other: no module under src/turn
// imports src/media, so either plane can change without the other.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Relative import targets of a file, resolved to src paths. */
function targets(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:import|export)[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g)].map((m) => resolve(dirname(file), m[1] ?? m[2]!));
}

describe('TURN plane layering', () => {
  it('no module under src/turn imports src/media', () => {
    const turn = files(join(SRC, 'turn'));
    expect(turn.length).toBeGreaterThan(20);
    const bad = turn.flatMap((f) => targets(f).filter((t) => t.startsWith(join(SRC, 'media'))).map((t) => `${f} -> ${t}`));
    expect(bad).toEqual([]);
  });

  it('the rule sees an import into src/native (so it would see one into src/media)', () => {
    expect(targets(join(SRC, 'turn/server/native-turn.ts')).some((t) => t.startsWith(join(SRC, 'native')))).toBe(true);
  });
});
