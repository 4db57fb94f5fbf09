/**
 * /metrics as Prometheus reads it: `promtool check metrics` (the Debian `prometheus` package) on a
 * real relay's exposition with every plane on and traffic through each, plus the registry's
 * escaping and histogram layout checked on their own. Any lint finding fails the test.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { MailboxReader, generateMailboxKeys, sealEnvelope } from '../../src/client/index.js';
import { encodeB64url } from '../../src/wire/envelope-protocol.js';
import { MetricsRegistry } from '../../src/observability/metrics.js';
import { Method } from '../../src/turn/codec/constants.js';
import { request } from '../turn/helpers/stun-client.js';
import { udpClient } from '../turn/helpers/wire.js';
import { startTestRelay } from '../helpers/relay.js';

/** promtool's findings (stdout and stderr) and exit code; an empty, 0 answer is a clean exposition. */
function promtool(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw r.error;
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

/** Metric family names from the `# TYPE` lines. */
function families(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

describe('promtool on the registry itself', () => {
  it('escapes HELP and label values and lays histograms out cumulatively', () => {
    const r = new MetricsRegistry();
    const c = r.counter('xrelay_test_events_total', 'Help with a \\ backslash\nand a newline.', ['kind', 'status']);
    c.inc(2, ['quote " back \\ nl \n', '200']);
    c.inc(1, ['plain', '404']);
    const h = r.histogram('xrelay_test_duration_seconds', 'A histogram.', [0.1, 1, 10], 'route');
    for (const v of [0.05, 0.1, 0.5, 5, 50]) h.observe(v, '/a');
    const text = r.render();
    expect(text).toContain('# HELP xrelay_test_events_total Help with a \\\\ backslash\\nand a newline.');
    expect(text).toContain('xrelay_test_events_total{kind="quote \\" back \\\\ nl \\n",status="200"} 2');
    expect(text).toContain('xrelay_test_duration_seconds_bucket{route="/a",le="0.1"} 2'); // le is inclusive
    expect(text).toContain('xrelay_test_duration_seconds_bucket{route="/a",le="1"} 3');
    expect(text).toContain('xrelay_test_duration_seconds_bucket{route="/a",le="10"} 4');
    expect(text).toContain('xrelay_test_duration_seconds_bucket{route="/a",le="+Inf"} 5');
    expect(text).toContain('xrelay_test_duration_seconds_sum{route="/a"} 55.65');
    expect(text).toContain('xrelay_test_duration_seconds_count{route="/a"} 5');
    expect(promtool(text)).toEqual({ status: 0, out: '' });
  });

  it('refuses names Prometheus would not accept, and a counter without _total', () => {
    const r = new MetricsRegistry();
    expect(() => r.counter('xrelay_events', 'x')).toThrow(/_total/);
    expect(() => r.gauge('xrelay-bad', 'x')).toThrow(/metric name/);
    expect(() => r.gauge('xrelay_ok', 'x', '__reserved')).toThrow(/label name/);
    expect(() => r.histogram('xrelay_h_seconds', 'x', [1, 1])).toThrow(/increasing/);
    expect(() => r.histogram('xrelay_h_seconds', 'x', [1], 'le')).toThrow(/reserved/);
  });

  it('promtool does catch a bad exposition (the check above can fail)', () => {
    expect(promtool('# HELP foo_ms x\n# TYPE foo_ms counter\nfoo_ms 1\n').status).not.toBe(0);
  });
});

describe('promtool on a relay with every plane and some traffic', () => {
  it('passes the lint, prefixes every relay metric, exports build info, event-loop delay and HTTP status/latency', async () => {
    const relay = await startTestRelay({
      logLevel: 'warn',
      media: { enabled: true },
      turn: { enabled: true, relayPortMin: 0, relayPortMax: 0, staticUsers: ['alice:secret1'] },
      rtc: { enabled: true },
    });
    try {
      // Envelope plane: a post, a reader (a WebSocket upgrade), a refused post.
      const keys = await generateMailboxKeys();
      const mailbox = encodeB64url(keys.mailboxId);
      const sealed = sealEnvelope(keys.publicKey, { kind: 'chat', body: new TextEncoder().encode('hi') });
      expect((await fetch(`${relay.url}/v1/mailboxes/${mailbox}/envelopes`, { method: 'POST', body: sealed })).status).toBe(202);
      expect((await fetch(`${relay.url}/v1/mailboxes/short/envelopes`, { method: 'POST', body: sealed })).status).toBe(400);
      const reader = new MailboxReader({ relayUrl: relay.url, keys, autoAck: true });
      const got = new Promise<void>((resolve) => reader.once('envelope', () => resolve()));
      await reader.connect();
      await got;
      reader.close();
      // Media plane: a join; TURN: a Binding request; and the operations routes, one unknown path.
      const room = encodeB64url(randomBytes(32));
      const join = await fetch(`${relay.url}/v1/media/join`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ room, publicKey: encodeB64url(randomBytes(32)), profile: 'audio' }) });
      expect(join.status).toBe(200);
      // WebRTC edge: a refused offer.
      expect((await fetch(`${relay.url}/v1/rtc/rooms/${room}`, { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: 'v=0\r\n' })).status).toBe(400);
      const stun = await udpClient(relay.turn!.udpPort);
      await stun.call(request(Method.binding));
      await stun.close();
      await fetch(`${relay.url}/healthz`);
      await fetch(`${relay.url}/readyz`);
      expect((await fetch(`${relay.url}/no/such/path`)).status).toBe(404);
      await fetch(`${relay.url}/metrics`); // the first scrape resets the event-loop window

      const text = await (await fetch(`${relay.url}/metrics`)).text();
      const lint = promtool(text);
      console.log(`promtool check metrics: exit ${lint.status}, ${families(text).size} families, ${text.split('\n').length} lines${lint.out ? `\n${lint.out}` : ''}`);
      expect(lint).toEqual({ status: 0, out: '' });

      // Every family is the relay's (xrelay_) or a standard client-library name (process_, nodejs_).
      for (const name of families(text).keys()) expect(name).toMatch(/^(xrelay_|process_|nodejs_)/);
      expect(text).toMatch(/^xrelay_build_info\{version="\d+\.\d+\.\d+[^"]*",node="v\d+\.\d+\.\d+"\} 1$/m);
      expect(text).toMatch(/^nodejs_eventloop_lag_p99_seconds \d/m);
      expect(text).toMatch(/^nodejs_eventloop_lag_p50_seconds \d/m);
      expect(text).toMatch(/^nodejs_heap_size_used_bytes [1-9]/m);
      expect(text).toMatch(/^process_open_fds [1-9]/m);
      expect(text).toContain('xrelay_http_requests_total{method="POST",route="/v1/mailboxes/:p/envelopes",status="202"} 1');
      expect(text).toContain('xrelay_http_requests_total{method="POST",route="/v1/mailboxes/:p/envelopes",status="400"} 1');
      expect(text).toContain('xrelay_http_requests_total{method="GET",route="/v1/mailbox",status="101"} 1');
      expect(text).toContain('xrelay_http_requests_total{method="GET",route="unmatched",status="404"} 1');
      expect(text).toContain('xrelay_http_request_duration_seconds_count{method="POST",route="/v1/mailboxes/:p/envelopes"} 2');
      expect(text).toMatch(/^xrelay_turn_requests_total\{method="binding"\} 1$/m);
      expect(text).toMatch(/^xrelay_media_sessions 1$/m);
      expect(text).toMatch(/^xrelay_rtc_joins_total\{result="bad_sdp"\} 1$/m);
      // No identifier or address as a label value.
      for (const secret of [mailbox, room, '127.0.0.1', '/no/such/path']) expect(text).not.toContain(secret);
    } finally {
      await relay.dispose();
    }
  });

  it('keeps the HTTP label set closed: odd methods, refused WebSocket handshakes and aborted uploads', async () => {
    const relay = await startTestRelay({ logLevel: 'warn' });
    /**
     * Writes raw bytes on a fresh connection and resolves with what came back when it closes; with
     * `abortOn`, destroys the connection as soon as that text arrives (after writing `then`).
     */
    const raw = (text: string, abortOn?: { text: string; then: string }): Promise<string> =>
      new Promise((done, fail) => {
        let got = '';
        const s = connect(relay.httpPort, '127.0.0.1', () => s.write(text));
        const timer = setTimeout(() => s.destroy(), 10_000);
        s.on('data', (d) => {
          got += String(d);
          if (abortOn && got.includes(abortOn.text)) s.end(abortOn.then, () => s.destroy());
        });
        s.on('error', fail);
        s.on('close', () => {
          clearTimeout(timer);
          done(got);
        });
      });
    try {
      expect(await raw('PROPFIND /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 405/);
      expect(await raw('GET /v1/mailbox HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n')).toMatch(/^HTTP\/1\.1 400/);
      // "100 Continue" means the request reached the router; then 10 of 1024 bytes and hang up.
      const mailbox = encodeB64url(randomBytes(32));
      const post = `POST /v1/mailboxes/${mailbox}/envelopes HTTP/1.1\r\nhost: x\r\ncontent-length: 1024\r\nexpect: 100-continue\r\n\r\n`;
      expect(await raw(post, { text: '100 Continue', then: '0123456789' })).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\n$/);
      const text = (): string => relay.metrics.render();
      await expect.poll(text, { timeout: 5000 }).toContain('xrelay_http_requests_total{method="POST",route="/v1/mailboxes/:p/envelopes",status="499"} 1');
      expect(text()).toContain('xrelay_http_requests_total{method="OTHER",route="unmatched",status="405"} 1');
      expect(text()).toContain('xrelay_http_requests_total{method="GET",route="/v1/mailbox",status="400"} 1');
      expect(text()).not.toContain('PROPFIND');
      expect(promtool(text())).toEqual({ status: 0, out: '' });
    } finally {
      await relay.dispose();
    }
  });
});
