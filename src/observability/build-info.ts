/**
 * The relay's version, read once from its package.json (found by walking up from this file, so it
 * works from src/ under vitest and from dist/src/ when installed).
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function relayVersion(): string {
  if (cached !== undefined) return cached;
  for (let up = 2; up <= 4 && cached === undefined; up++) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../'.repeat(up) + 'package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'xentrop-relay' && typeof pkg.version === 'string') cached = pkg.version;
    } catch {
      /* not at this level */
    }
  }
  cached ??= 'unknown';
  return cached;
}
