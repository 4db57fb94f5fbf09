/**
 * openapi.yaml against the relay itself: its paths and methods equal the routes and WebSocket paths
 * a relay with every plane registers; its error-code enum equals src/errors.ts; each operation's
 * `x-error-codes` exist and have their HTTP status among the operation's responses; every $ref
 * resolves. The YAML is read by PyYAML (Debian python3-yaml, installed by .ci/run).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors.js';
import { startTestRelay } from '../helpers/relay.js';

type Operation = { responses: Record<string, unknown>; 'x-websocket'?: boolean; 'x-error-codes'?: string[] };
type Spec = { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: { ErrorCode: { enum: string[] } } } };

function loadSpec(): Spec {
  const file = resolve(import.meta.dirname, '../../openapi.yaml');
  const r = spawnSync('python3', ['-c', 'import sys, json, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { input: readFileSync(file), encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw r.error;
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Spec;
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** `METHOD /path` for every operation, with `{param}` written as the router's `:p`; WebSockets marked. */
function specRoutes(spec: Spec): string[] {
  const out: string[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.has(method)) continue;
      out.push(`${op['x-websocket'] ? 'WS ' : ''}${method.toUpperCase()} ${path.replace(/\{[^}]+\}/g, ':p')}`);
    }
  }
  return out.sort();
}

describe('openapi.yaml', () => {
  const spec = loadSpec();

  it('describes exactly the routes a relay with every plane registers', async () => {
    const relay = await startTestRelay({ logLevel: 'warn', media: { enabled: true }, rtc: { enabled: true }, turn: { enabled: true, relayPortMin: 0, relayPortMax: 0, staticUsers: ['alice:secret1'] } });
    try {
      const registered = relay.router.registered().map((r) => `${r.websocket ? 'WS ' : ''}${r.method} ${r.route}`).sort();
      expect(registered.length).toBeGreaterThanOrEqual(8);
      expect(specRoutes(spec)).toEqual(registered);
    } finally {
      await relay.dispose();
    }
  });

  it('lists the error codes of src/errors.ts, and each operation answers the status of the codes it names', () => {
    expect(spec.openapi).toMatch(/^3\.1\./);
    expect([...spec.components.schemas.ErrorCode.enum].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!METHODS.has(method) || op['x-websocket']) continue; // a WebSocket's codes travel in frames and close codes
        for (const code of op['x-error-codes'] ?? []) {
          expect(Object.keys(ERROR_CODES), `${method} ${path}`).toContain(code);
          expect(Object.keys(op.responses), `${method} ${path} ${code}`).toContain(String(ERROR_CODES[code as keyof typeof ERROR_CODES]));
        }
      }
    }
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const op of Object.values(item)) for (const code of op['x-error-codes'] ?? []) expect(Object.keys(ERROR_CODES), path).toContain(code);
    }
  });

  it('every $ref points at something', () => {
    const refs = [...JSON.stringify(spec).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(5);
    for (const ref of refs) {
      let at: unknown = spec;
      for (const part of ref.split('/')) at = (at as Record<string, unknown> | undefined)?.[part];
      expect(at, ref).toBeDefined();
    }
  });
});
