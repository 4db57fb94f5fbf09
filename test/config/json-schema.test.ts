/**
 * docs/config.schema.json is what the one schema generates (`npm run docs` rewrites it; a stale file
 * fails here), it names every field the loader knows, and a file made of its defaults loads to the
 * built-in defaults while a key it does not list is refused, as the schema says.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, configJsonSchemaText } from '../../src/config/json-schema.js';
import { defaultConfig, listFields, loadConfig } from '../../src/config/load.js';

type Prop = { type?: string; default?: unknown; minimum?: number; maximum?: number; enum?: string[]; properties?: Record<string, Prop>; 'x-env'?: string; 'x-flag'?: string };

const file = resolve(import.meta.dirname, '../../docs/config.schema.json');

/** path -> leaf property, walking nested objects. */
function leaves(props: Record<string, Prop>, prefix: string[] = []): Map<string, Prop> {
  const out = new Map<string, Prop>();
  for (const [k, p] of Object.entries(props)) {
    if (p.type === 'object' && p.properties) for (const [kk, pp] of leaves(p.properties, [...prefix, k])) out.set(kk, pp);
    else out.set([...prefix, k].join('.'), p);
  }
  return out;
}

describe('docs/config.schema.json', () => {
  it('is the generated schema (run `npm run docs` after changing a field)', () => {
    expect(readFileSync(file, 'utf8')).toBe(configJsonSchemaText());
  });

  it('lists every config field with a type, its default within its own bounds, env var and flag', () => {
    const props = leaves((configJsonSchema() as { properties: Record<string, Prop> }).properties);
    const fields = listFields().map((f) => f.path.join('.'));
    expect([...props.keys()].sort()).toEqual([...fields].sort());
    for (const [path, p] of props) {
      expect(p.type, path).toMatch(/^(string|integer|number|boolean|array)$/);
      expect(p['x-env'], path).toMatch(/^XRELAY_[A-Z0-9_]+$/);
      expect(p['x-flag'], path).toMatch(/^--[a-z0-9-]+$/);
      if (typeof p.default === 'number') {
        if (p.minimum !== undefined) expect(p.default, path).toBeGreaterThanOrEqual(p.minimum);
        if (p.maximum !== undefined) expect(p.default, path).toBeLessThanOrEqual(p.maximum);
      }
      if (p.enum) expect(p.enum, path).toContain(p.default);
    }
  });

  it('a config file of its defaults loads to the built-in defaults; a key it does not list is refused', () => {
    const doc = configJsonSchema() as { properties: Record<string, Prop> };
    const fromSchema = (props: Record<string, Prop>): Record<string, unknown> =>
      Object.fromEntries(Object.entries(props).map(([k, p]) => [k, p.type === 'object' ? fromSchema(p.properties!) : p.default]));
    expect(loadConfig({ file: fromSchema(doc.properties) })).toEqual(defaultConfig());
    expect(() => loadConfig({ file: { media: { notAField: 1 } } })).toThrow(/notAField/);
  });
});
