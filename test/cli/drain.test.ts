/** `xrelay drain` (the real CLI) against a running relay: drains and undrains it; refused (403) from an address outside metricsAllow. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/child-relay.js';
import { startTestRelay, type TestRelay } from '../helpers/relay.js';

const run = promisify(execFile);
let open: TestRelay;
let closed: TestRelay;

beforeAll(async () => {
  open = await startTestRelay({}, { logLevel: 'warn' });
  closed = await startTestRelay({ metricsAllow: ['10.0.0.0/8'] }, { logLevel: 'warn' });
});
afterAll(async () => {
  await open?.dispose();
  await closed?.dispose();
});

/** Read through /healthz (TestRelay copies the relay's fields, not its getters). */
async function draining(relay: TestRelay): Promise<boolean> {
  return ((await (await fetch(`${relay.url}/healthz`)).json()) as { draining?: boolean }).draining === true;
}

async function drain(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [CLI, 'drain', ...args]);
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, out: e.stderr };
  }
}

describe('xrelay drain', () => {
  it('drains a running node (/readyz 503 draining, /healthz says so) and --off ends it', async () => {
    expect((await drain(['--relay', open.url])).code).toBe(0);
    expect(await draining(open)).toBe(true);
    const ready = await fetch(`${open.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ status: 'draining' });
    expect(await (await fetch(`${open.url}/healthz`)).json()).toEqual({ status: 'ok', draining: true });
    expect((await drain(['--relay', open.url, '--off'])).code).toBe(0);
    expect(await draining(open)).toBe(false);
    expect((await fetch(`${open.url}/readyz`)).status).toBe(200);
  });

  it('is refused 403 forbidden from an address outside metricsAllow or with an Origin header, and the node does not drain', async () => {
    const r = await drain(['--relay', closed.url]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('"code":"forbidden"');
    expect(await draining(closed)).toBe(false);
    const raw = await fetch(`${closed.url}/v1/admin/drain`, { method: 'POST' });
    expect(raw.status).toBe(403);
    expect((await raw.json()).error.code).toBe('forbidden');
    // a browser's request (Origin header) is refused even from an allowed address
    const fromPage = await fetch(`${open.url}/v1/admin/drain`, { method: 'POST', headers: { origin: 'http://app.test' } });
    expect(fromPage.status).toBe(403);
    expect(await draining(open)).toBe(false);
  });

  it('without --relay, finds the node from the config (XRELAY_* variables); a node that does not answer exits 1', async () => {
    const port = new URL(open.url).port;
    const { stdout } = await run(process.execPath, [CLI, 'drain'], { env: { ...process.env, XRELAY_HTTP_PORT: port, XRELAY_HOST: '127.0.0.1' } });
    expect(stdout).toContain('is draining');
    expect(await draining(open)).toBe(true);
    open.setDraining(false);
    expect((await drain(['--relay', 'http://127.0.0.1:1'])).code).toBe(1);
    expect((await drain(['--bogus'])).code).toBe(2);
  });
});
