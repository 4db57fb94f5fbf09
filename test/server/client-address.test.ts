/**
 * Rate limits behind a reverse proxy (`trustProxy`): the client is the rightmost X-Forwarded-For
 * entry not in the trusted list; without the setting the header is ignored. Through a real relay
 * on loopback, with a post budget of 2 per address, so buckets are visible as 202s and 429s.
 */
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { encodeB64url } from '../../src/wire/envelope-protocol.js';
import { clientAddressResolver, rateLimitKey } from '../../src/limits/client-address.js';
import { httpPost, startTestRelay, type TestRelay } from '../helpers/relay.js';

const envelope = { postRatePerSec: 0.001, postBurst: 2 };
const mailbox = encodeB64url(new Uint8Array(32).fill(9));
let relay: TestRelay | undefined;
afterEach(async () => {
  await relay?.dispose();
  relay = undefined;
});

async function statuses(r: TestRelay, forwardedFor: string | undefined, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const headers: Record<string, string> = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
    out.push((await httpPost(`${r.url}/v1/mailboxes/${mailbox}/envelopes`, new Uint8Array(256), headers)).status);
  }
  return out;
}

describe('client address behind a trusted proxy', () => {
  it('without trustProxy, X-Forwarded-For is ignored: every client shares the socket peer\'s bucket', async () => {
    relay = await startTestRelay({ envelope });
    expect(await statuses(relay, '203.0.113.1', 2)).toEqual([202, 202]);
    expect(await statuses(relay, '203.0.113.2', 1)).toEqual([429]);
  });

  it('with the proxy trusted, each forwarded client gets its own bucket', async () => {
    relay = await startTestRelay({ envelope, trustProxy: ['127.0.0.0/8'] });
    expect(await statuses(relay, '203.0.113.1', 3)).toEqual([202, 202, 429]);
    expect(await statuses(relay, '203.0.113.2', 2)).toEqual([202, 202]);
    // A client cannot choose its bucket by writing its own X-Forwarded-For: the proxy appends the
    // real address, and that rightmost untrusted entry is the one used.
    expect(await statuses(relay, '198.51.100.77, 203.0.113.1', 1)).toEqual([429]);
    expect(relay.logs()).not.toContain('203.0.113');
  });

  it('one IPv6 /64 is one bucket, whichever of its addresses posts', async () => {
    relay = await startTestRelay({ envelope, trustProxy: ['127.0.0.1'] });
    expect(await statuses(relay, '2001:db8:5:6::1', 2)).toEqual([202, 202]);
    expect(await statuses(relay, '2001:db8:5:6:dead:beef:0:7', 1)).toEqual([429]);
    expect(await statuses(relay, '2001:db8:5:7::1', 1)).toEqual([202]);
  });

  it('media joins are limited per forwarded client too', async () => {
    relay = await startTestRelay({ trustProxy: ['127.0.0.1'], media: { enabled: true, joinRatePerSec: 0.001, joinBurst: 1 } });
    const join = (xff: string) =>
      fetch(`${relay!.url}/v1/media/join`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': xff },
        body: JSON.stringify({ room: encodeB64url(new Uint8Array(32).fill(1)), publicKey: encodeB64url(new Uint8Array(32).fill(7)), profile: 'audio' }),
      });
    expect((await join('203.0.113.1')).status).toBe(200);
    const refused = await join('203.0.113.1');
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await join('203.0.113.2')).status).toBe(200);
    expect(relay.metric('xrelay_media_joins_total{result="rate_limited"}')).toBe(1);
  });
});

describe('resolver rules', () => {
  const req = (peer: string, xff?: string | string[]): IncomingMessage => ({ socket: { remoteAddress: peer }, headers: xff === undefined ? {} : { 'x-forwarded-for': xff } }) as unknown as IncomingMessage;
  const of = clientAddressResolver(['10.0.0.0/8', 'fd00::/8']);

  it('walks right to left past trusted hops', () => {
    expect(of(req('10.0.0.5', '203.0.113.9, 10.1.1.1'))).toBe('203.0.113.9');
    expect(of(req('10.0.0.5', ['203.0.113.9', '10.1.1.1']))).toBe('203.0.113.9');
    expect(of(req('fd00::1', '2001:db8::5'))).toBe('2001:db8::5');
    expect(of(req('::ffff:10.0.0.5', '::ffff:203.0.113.9'))).toBe('203.0.113.9');
  });
  it('an untrusted peer is the client whatever it claims', () => {
    expect(of(req('198.51.100.1', '203.0.113.9'))).toBe('198.51.100.1');
  });
  it('stops at the last address it can vouch for on a missing or garbled header', () => {
    expect(of(req('10.0.0.5'))).toBe('10.0.0.5');
    expect(of(req('10.0.0.5', 'not-an-ip'))).toBe('10.0.0.5');
    expect(of(req('10.0.0.5', '203.0.113.9, bogus, 10.2.2.2'))).toBe('10.2.2.2');
    expect(of(req('10.0.0.5', '10.3.3.3, 10.2.2.2'))).toBe('10.3.3.3');
  });
  it('rate limits bucket IPv6 clients by /64 and IPv4 clients alone', () => {
    expect(rateLimitKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(rateLimitKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(rateLimitKey('2001:0db8:0001:0003::1')).toBe('2001:db8:1:3::/64');
    expect(rateLimitKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(rateLimitKey('::1')).toBe('0:0:0:0::/64');
    expect(rateLimitKey('64:ff9b::192.0.2.1')).toBe('64:ff9b:0:0::/64');
    expect(rateLimitKey('203.0.113.9')).toBe('203.0.113.9');
  });

  it('a bad trustProxy entry is refused at start, naming the field', () => {
    expect(() => loadConfig({ file: { trustProxy: ['10.0.0.0/33'] } })).toThrow(ConfigError);
    expect(() => loadConfig({ file: { trustProxy: ['proxy.example'] } })).toThrow(/trustProxy/);
    expect(loadConfig({ file: { trustProxy: ['10.0.0.0/8', '::1'] } }).trustProxy).toEqual(['10.0.0.0/8', '::1']);
  });
});
