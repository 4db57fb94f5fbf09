/**
 * Named layouts for the positional arrays native code fills (stats buffers): each side lists the
 * field names in order (a TypeScript table, a C++ X-macro list), a test parses the C++ list and
 * compares (test/native/layouts.test.ts), and at load the addon's exported names are checked here,
 * so a stale or mismatched build is refused with a clear reason (the TypeScript plane then serves)
 * instead of exporting counters under the wrong names.
 */

/** Index of each name in `names`: `at.sendErrors` instead of a bare 11. */
export function layoutIndex<N extends string>(names: readonly N[]): Readonly<Record<N, number>> {
  return Object.freeze(Object.fromEntries(names.map((n, i) => [n, i]))) as Record<N, number>;
}

/** Why the addon's reported names differ from the TypeScript table, or undefined when they match. */
export function layoutMismatch(what: string, reported: unknown, expected: readonly string[]): string | undefined {
  if (!Array.isArray(reported)) return `addon reports no ${what} layout (rebuild it: npm run build:native)`;
  if (reported.length !== expected.length) return `addon ${what} layout has ${reported.length} fields, this build expects ${expected.length} (rebuild it: npm run build:native)`;
  const i = expected.findIndex((name, k) => reported[k] !== name);
  if (i >= 0) return `addon ${what} layout field ${i} is ${JSON.stringify(reported[i])}, this build expects ${JSON.stringify(expected[i])} (rebuild it: npm run build:native)`;
  return undefined;
}
