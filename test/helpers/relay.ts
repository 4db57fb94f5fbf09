/** Starts a whole relay (startRelay) on loopback, port 0 everywhere, with a fresh data dir and captured logs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config/load.js';
import type { EnvelopePlaneOptions } from '../../src/envelope/server/envelope-plane.js';
import { createLogger } from '../../src/observability/log.js';
import { startRelay, type Relay } from '../../src/relay.js';

export interface TestRelay extends Relay {
  dataDir: string;
  /** Every log line written so far (JSON text). */
  logs(): string;
  /** A metric's value from /metrics text, e.g. metric('xrelay_envelopes_rejected_total{code="bad_key"}'). */
  metric(name: string): number;
  /** Close and delete the data dir. */
  dispose(): Promise<void>;
}

export function tempDir(prefix = 'xrelay-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startTestRelay(file: Record<string, unknown> = {}, opts: { dataDir?: string; envelope?: EnvelopePlaneOptions; logLevel?: string } = {}): Promise<TestRelay> {
  const dataDir = opts.dataDir ?? tempDir();
  const config = loadConfig({
    file: {
      host: '127.0.0.1',
      httpPort: 0,
      dataDir,
      logLevel: opts.logLevel ?? 'debug',
      ...file,
      media: { enabled: false, udpPort: 0, ...((file.media as object) ?? {}) },
      turn: { enabled: false, port: 0, ...((file.turn as object) ?? {}) },
      rtc: { enabled: false, port: 0, ...((file.rtc as object) ?? {}) },
    },
  });
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  const logger = createLogger({ level: config.logLevel, posture: config.logPosture, destination: sink });
  const relay = await startRelay(config, { logger, ...(opts.envelope ? { envelope: opts.envelope } : {}) });
  return Object.assign(Object.create(null) as object, relay, {
    dataDir,
    close: () => relay.close(),
    logs: () => text,
    metric(name: string): number {
      const line = relay.metrics.render().split('\n').find((l) => l.startsWith(name + ' '));
      return line === undefined ? 0 : Number(line.slice(name.length + 1));
    },
    async dispose() {
      await relay.close();
      if (opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  }) as TestRelay;
}

/** Posts raw bytes over HTTP; returns status, parsed JSON body and headers. */
export async function httpPost(url: string, body: Uint8Array | string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream', ...headers } });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (Math.random() * 256) | 0;
  return out;
}
