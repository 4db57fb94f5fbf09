/**
 * Redis store specifics, on real redis-server processes: what Redis holds (privacy), the start-up
 * durability check, WAIT for replicas, ids across nodes with skewed clocks, the script cache lost,
 * and kill -9 of redis-server mid-burst: every put that resolved is read back after a restart on its AOF.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { RelayError } from '../../src/errors.js';
import type { StoreLimits } from '../../src/envelope/store/envelope-store.js';
import { envelopeArrivalMs } from '../../src/wire/envelope-protocol.js';
import { RedisEnvelopeStore } from '../../src/envelope/store/redis-store.js';
import { freePort, type RedisProcess, startRedis, startRedisCluster } from '../helpers/redis-server.js';
import { flushAll, redisOptions, useRedisSingleAndCluster } from '../helpers/redis-store.js';

const LIMITS: StoreLimits = { mailboxMaxCount: 10_000, mailboxMaxBytes: 64 << 20, storeMaxBytes: 1 << 30, pushMaxTargets: 1_000_000 };
const T0 = Date.parse('2026-06-01T00:00:00Z');

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return (err as RelayError).code ?? 'no_code';
  }
}

async function client(port: number): Promise<Redis> {
  const c = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
  await c.connect();
  return c;
}

const redis = useRedisSingleAndCluster();

describe('Redis envelope store: privacy', () => {
  /** Every key and value on these servers, checked against what the store may hold. */
  async function auditKeys(ports: number[], mailboxes: Buffer[], bodies: Set<string>): Promise<number> {
    const tags = new Set(mailboxes.map((m) => m.toString('base64url')));
    const mailboxHex = new Set(mailboxes.map((m) => m.toString('hex')));
    let keys = 0;
    for (const port of ports) {
      const c = await client(port);
      for (const key of await c.keys('*')) {
        keys++;
        const type = await c.type(key);
        const mbox = /^xr:\{([A-Za-z0-9_-]{43})\}:([ibup])$/.exec(key);
        if (mbox !== null) {
          expect(tags.has(mbox[1]!)).toBe(true);
          if (mbox[2] === 'i') {
            expect(type).toBe('zset');
            for (const id of await c.zrangeBuffer(key, '0', '-1')) expect(id.length).toBe(16);
          } else if (mbox[2] === 'b') {
            expect(type).toBe('hash');
            for (const id of await c.hkeysBuffer(key)) {
              expect(id.length).toBe(16);
              expect(bodies.has((await c.hgetBuffer(key, id))!.toString('hex'))).toBe(true);
            }
          } else if (mbox[2] === 'u') {
            expect(Object.keys(await c.hgetall(key)).sort()).toEqual(['b', 'c']);
          } else {
            expect(Object.keys(JSON.parse((await c.get(key))!)).sort()).toEqual(['provider', 'token']);
          }
        } else if (key === 'xr:{global}:u') {
          expect(Object.keys(await c.hgetall(key)).sort()).toEqual(['b', 'c']);
        } else if (key === 'xr:{global}:p') {
          // the push-target cap's index: mailbox ids (as in the keys) and expiry times, nothing else
          const z = await c.zrange(key, '0', '-1', 'WITHSCORES');
          for (let k = 0; k < z.length; k += 2) {
            expect(tags.has(z[k]!)).toBe(true);
            expect(Math.abs(Number(z[k + 1]) - Date.now() - 3_600_000)).toBeLessThan(60_000);
          }
        } else {
          expect(key).toMatch(/^xr:\{exp-\d+\}$/);
          const z = await c.zrangeBuffer(key, '0', '-1', 'WITHSCORES');
          for (let k = 0; k < z.length; k += 2) {
            expect(mailboxHex.has(z[k]!.toString('hex'))).toBe(true);
            expect(Math.abs(Number(z[k + 1]!.toString()) - T0)).toBeLessThan(60_000);
          }
        }
      }
      await c.quit();
    }
    return keys;
  }

  it.each(['single', 'cluster'] as const)('holds mailbox id, envelope id, bytes, arrival, push target; nothing else (%s)', async (mode) => {
    const ports = mode === 'single' ? [redis.single.port] : redis.cluster.nodes.map((n) => n.port);
    await flushAll(mode === 'single' ? [redis.single] : redis.cluster.nodes);
    const store = await RedisEnvelopeStore.open(redisOptions(mode === 'single' ? redis.single.url : redis.cluster.url, { cluster: mode === 'cluster' }), LIMITS);
    const mailboxes = Array.from({ length: 12 }, () => randomBytes(32));
    const bodies = new Set<string>();
    for (const [k, m] of mailboxes.entries()) {
      for (let j = 0; j < 3; j++) {
        const b = randomBytes(256);
        bodies.add(b.toString('hex'));
        await store.put(m, b, T0 + k * 10 + j);
      }
      if (k % 3 === 0) await store.setPushTarget(m, { provider: 'webhook', token: `device-${k}` }, Date.now() + 3_600_000, Date.now());
    }
    await store.ack(mailboxes[0]!, (await store.list(mailboxes[0]!, undefined, 10)).map((e) => e.id));
    // 11 mailboxes x (ids, bodies, usage) + 4 push targets + global + push index + at least one expiry index shard
    expect(await auditKeys(ports, mailboxes, bodies)).toBeGreaterThanOrEqual(11 * 3 + 4 + 1 + 1 + 1);
    await store.close();
  });
});

describe('Redis envelope store: durability', () => {
  it('refuses to start on a Redis without appendfsync always or without AOF (store_not_durable)', async () => {
    for (const args of [['--appendfsync', 'everysec'], ['--appendonly', 'no']]) {
      const r = await startRedis({ args });
      try {
        expect(await codeOf(RedisEnvelopeStore.open(redisOptions(r.url), LIMITS))).toBe('store_not_durable');
      } finally {
        await r.stop();
      }
    }
  });

  it('with CONFIG disabled, refuses unless assumeDurable, which starts with a warning', async () => {
    const r = await startRedis({ args: ['--rename-command', 'CONFIG', '""'] });
    try {
      expect(await codeOf(RedisEnvelopeStore.open(redisOptions(r.url), LIMITS))).toBe('store_not_durable');
      const warnings: string[] = [];
      const s = await RedisEnvelopeStore.open(redisOptions(r.url, { assumeDurable: true }), LIMITS, { warn: (m) => warnings.push(m) });
      expect(warnings.length).toBe(1);
      expect(await codeOf(s.put(randomBytes(32), randomBytes(256), T0))).toBe('ok');
      await s.close();
    } finally {
      await r.stop();
    }
  });

  it('answers store_unavailable when Redis is unreachable at open', async () => {
    const r = await startRedis();
    const url = r.url;
    await r.stop();
    expect(await codeOf(RedisEnvelopeStore.open(redisOptions(url), LIMITS))).toBe('store_unavailable');
  });

  it('authenticates with redis.password (or the URL); without it the open fails store_unavailable', async () => {
    const r = await startRedis({ args: ['--requirepass', 'pw-for-test'] });
    try {
      expect(await codeOf(RedisEnvelopeStore.open(redisOptions(r.url), LIMITS))).toBe('store_unavailable');
      expect(await codeOf(RedisEnvelopeStore.open(redisOptions(r.url, { password: 'wrong' }), LIMITS))).toBe('store_unavailable');
      for (const opts of [redisOptions(r.url, { password: 'pw-for-test' }), redisOptions(`redis://:pw-for-test@127.0.0.1:${r.port}`)]) {
        const s = await RedisEnvelopeStore.open(opts, LIMITS);
        expect(await codeOf(s.put(randomBytes(32), randomBytes(256), T0))).toBe('ok');
        await s.close();
      }
    } finally {
      await r.stop();
    }
  });

  it('connects over TLS, verifying the server against redis.tlsCaFile; an unknown CA is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xr-redis-tls-'));
    const ssl = (...a: string[]): void => void execFileSync('openssl', a, { cwd: dir, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=xr test ca');
    ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
    ssl('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.crt', '-days', '2', '-extfile', 'ext');
    const tlsPort = await freePort();
    const r = await startRedis({ args: ['--tls-port', String(tlsPort), '--tls-cert-file', join(dir, 'srv.crt'), '--tls-key-file', join(dir, 'srv.key'), '--tls-ca-cert-file', join(dir, 'ca.crt'), '--tls-auth-clients', 'no'] });
    try {
      const url = `rediss://127.0.0.1:${tlsPort}`;
      expect(await codeOf(RedisEnvelopeStore.open(redisOptions(url), LIMITS))).toBe('store_unavailable'); // system CAs do not know it
      const s = await RedisEnvelopeStore.open(redisOptions(url, { tlsCaFile: join(dir, 'ca.crt') }), LIMITS);
      const m = randomBytes(32);
      await s.put(m, randomBytes(256), T0);
      expect((await s.list(m, undefined, 10)).length).toBe(1);
      await s.close();
    } finally {
      await r.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('durability wait: refuses a put no replica acknowledged, resolves one a replica holds', async () => {
    const primary = await startRedis({ args: ['--repl-diskless-sync-delay', '0'] }); // full sync at once, not after 5 s
    let replica: RedisProcess | undefined;
    try {
      const opts = redisOptions(primary.url, { durability: 'wait', waitReplicas: 1, waitTimeoutMs: 100 });
      const lone = await RedisEnvelopeStore.open(opts, LIMITS);
      const started = Date.now();
      expect(await codeOf(lone.put(randomBytes(32), randomBytes(256), T0))).toBe('store_unavailable');
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      await lone.close();

      replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(primary.port), '--appendonly', 'no'] });
      const rc = await client(replica.port);
      await expect.poll(async () => (await rc.info('replication')).includes('master_link_status:up'), { timeout: 15_000 }).toBe(true);
      const s = await RedisEnvelopeStore.open({ ...opts, waitTimeoutMs: 5000 }, LIMITS);
      const m = randomBytes(32);
      const b = randomBytes(256);
      const putStarted = Date.now();
      const id = await s.put(m, b, T0);
      console.log(`put with WAIT 1 replica: ${Date.now() - putStarted} ms`);
      // WAIT returned: the replica already has the body, no polling needed.
      expect((await rc.hgetBuffer(`xr:{${m.toString('base64url')}}:b`, id))?.equals(b)).toBe(true);
      await rc.quit();
      await s.close();
    } finally {
      await replica?.stop();
      await primary.stop();
    }
  });

  it('kill -9 of redis-server mid-burst: every put that resolved is read back after a restart on its AOF', async () => {
    const r = await startRedis();
    try {
      const s = await RedisEnvelopeStore.open(redisOptions(r.url), LIMITS);
      const mailboxes = Array.from({ length: 16 }, () => randomBytes(32));
      const resolved: Array<{ m: Buffer; id: Buffer; body: Buffer }> = [];
      let failed = 0;
      let killed: Promise<void> | undefined;
      const worker = async (w: number): Promise<void> => {
        for (let k = 0; k < 250; k++) {
          const m = mailboxes[(w + k) % mailboxes.length]!;
          const body = randomBytes(256);
          try {
            resolved.push({ m, id: await s.put(m, body, T0 + k), body });
          } catch (err) {
            expect((err as RelayError).code).toBe('store_unavailable');
            failed++;
            if (failed > 50) return;
          }
          if (resolved.length >= 400 && killed === undefined) killed = r.kill9();
        }
      };
      await Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
      await killed;
      console.log(`kill -9 mid-burst: ${resolved.length} puts resolved, ${failed} refused store_unavailable`);
      expect(killed).toBeDefined();
      expect(failed).toBeGreaterThan(0);
      await s.close();

      await r.restart();
      const after = await RedisEnvelopeStore.open(redisOptions(r.url), LIMITS);
      const stored = new Map<string, string>();
      for (const m of mailboxes) for (const e of await after.list(m, undefined, 10_000)) stored.set(e.id.toString('hex'), e.body.toString('hex'));
      const missing = resolved.filter((p) => stored.get(p.id.toString('hex')) !== p.body.toString('hex'));
      expect(missing.length).toBe(0);
      // On one instance the global counter moves in the same script as the data: exact after a crash.
      expect(after.stats()).toEqual({ envelopes: stored.size, bytes: stored.size * 256 });
      expect(await after.reconcileUsage()).toEqual({ envelopes: stored.size, bytes: stored.size * 256 });
      await after.close();
    } finally {
      await r.stop();
    }
  });
});

describe('Redis envelope store: a Cluster master killed', () => {
  it('kill -9 of one of three masters mid-burst: every put that resolved is read back once it restarts', async () => {
    const own = await startRedisCluster();
    try {
      const s = await RedisEnvelopeStore.open(redisOptions(own.url, { cluster: true }), LIMITS);
      const mailboxes = Array.from({ length: 24 }, () => randomBytes(32)); // spread over the three masters
      const resolved: Array<{ m: Buffer; id: Buffer; body: Buffer }> = [];
      let failed = 0;
      let killed: Promise<void> | undefined;
      const victim = own.nodes[1]!;
      const worker = async (w: number): Promise<void> => {
        for (let k = 0; k < 120 && failed < 60; k++) {
          const m = mailboxes[(w * 7 + k) % mailboxes.length]!;
          const body = randomBytes(256);
          try {
            resolved.push({ m, id: await s.put(m, body, T0 + k), body });
          } catch (err) {
            expect((err as RelayError).code).toBe('store_unavailable');
            failed++;
          }
          if (resolved.length >= 300 && killed === undefined) killed = victim.kill9();
        }
      };
      const burstAt = Date.now();
      await Promise.all(Array.from({ length: 12 }, (_, w) => worker(w)));
      await killed;
      console.log(`burst done ${Date.now() - burstAt} ms after start`);
      console.log(`cluster master kill -9 mid-burst: ${resolved.length} puts resolved, ${failed} refused store_unavailable`);
      expect(killed).toBeDefined();
      await s.close();

      const restartAt = Date.now();
      await victim.restart();
      for (const node of own.nodes) {
        // every node, the restarted one included, must see the cluster whole again
        const c = await client(node.port);
        await expect.poll(async () => (await c.cluster('INFO')).includes('cluster_state:ok'), { timeout: 40_000, interval: 200 }).toBe(true);
        await c.quit();
      }
      console.log(`cluster_state:ok ${Date.now() - restartAt} ms after the restart`);
      const after = await RedisEnvelopeStore.open(redisOptions(own.url, { cluster: true }), LIMITS);
      const stored = new Map<string, string>();
      for (const m of mailboxes) for (const e of await after.list(m, undefined, 10_000)) stored.set(e.id.toString('hex'), e.body.toString('hex'));
      expect(resolved.filter((p) => stored.get(p.id.toString('hex')) !== p.body.toString('hex')).length).toBe(0);
      await after.close();
    } finally {
      await own.stop();
    }
  }, 90_000);
});

describe('Redis envelope store: several nodes, one Redis', () => {
  it('a node whose clock lags still stores after the mailbox newest id (readers paging by id miss nothing)', async () => {
    await flushAll(redis.cluster.nodes);
    const [ahead, behind] = [
      await RedisEnvelopeStore.open(redisOptions(redis.cluster.url, { cluster: true }), LIMITS),
      await RedisEnvelopeStore.open(redisOptions(redis.cluster.url, { cluster: true }), LIMITS),
    ];
    const m = randomBytes(32);
    const first = await ahead.put(m, randomBytes(256), T0 + 10_000);
    const cursor = (await ahead.list(m, undefined, 10))[0]!.id;
    const second = await behind.put(m, randomBytes(256), T0);
    expect(Buffer.compare(second, first)).toBe(1);
    expect(envelopeArrivalMs(second)).toBe(T0 + 10_000);
    expect((await behind.list(m, cursor, 10)).map((e) => e.id.toString('hex'))).toEqual([second.toString('hex')]);
    await ahead.close();
    await behind.close();
  });

  it('Cluster global cap under contention: never exceeded, may bite early while refused posts hold reservations, nothing leaked', async () => {
    await flushAll(redis.cluster.nodes);
    const limits = { ...LIMITS, mailboxMaxCount: 5, storeMaxBytes: 20 * 256 };
    const [n1, n2] = [
      await RedisEnvelopeStore.open(redisOptions(redis.cluster.url, { cluster: true }), limits),
      await RedisEnvelopeStore.open(redisOptions(redis.cluster.url, { cluster: true }), limits),
    ];
    const full = randomBytes(32);
    for (let k = 0; k < 5; k++) await n1.put(full, randomBytes(256), T0);
    // 100 posts at once from two nodes: half to the full mailbox (each reserves, then is refused and
    // gives back), half to fresh mailboxes competing for the 15 envelopes of room left.
    const codes = await Promise.all(Array.from({ length: 100 }, (_, k) => codeOf((k % 2 ? n1 : n2).put(k % 4 < 2 ? full : randomBytes(32), randomBytes(256), T0))));
    const ok = codes.filter((c) => c === 'ok').length;
    console.log(`global cap contention: ${ok} of 15 free places taken, ${codes.filter((c) => c === 'mailbox_full').length} refused mailbox_full`);
    expect(codes.every((c) => c === 'ok' || c === 'mailbox_full')).toBe(true);
    expect(ok).toBeGreaterThan(0);
    expect(ok).toBeLessThanOrEqual(15);
    await n1.expire(0); // refreshes stats from the counter
    const counted = n1.stats();
    const recount = await n1.reconcileUsage();
    expect(recount).toEqual({ envelopes: 5 + ok, bytes: (5 + ok) * 256 });
    expect(counted).toEqual(recount); // every refused post gave its reservation back
    expect(recount.bytes).toBeLessThanOrEqual(limits.storeMaxBytes);
    await n1.close();
    await n2.close();
  });

  it('keeps working when Redis loses its script cache (EVALSHA answered NOSCRIPT)', async () => {
    await flushAll([redis.single]);
    const s = await RedisEnvelopeStore.open(redisOptions(redis.single.url), LIMITS);
    const m = randomBytes(32);
    await s.put(m, randomBytes(256), T0);
    const c = await client(redis.single.port);
    await c.script('FLUSH');
    await s.put(m, randomBytes(256), T0 + 1);
    expect((await s.list(m, undefined, 10)).length).toBe(2);
    await c.quit();
    await s.close();
  });
});
