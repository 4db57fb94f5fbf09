/** The `store` field and `redis` section: sources, validation, and secrets hidden by print-config. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { CLI } from '../helpers/child-relay.js';

const cli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 15_000 });

describe('store options', () => {
  it('defaults to LMDB; flags, environment and file select Redis and its settings', () => {
    const d = loadConfig({});
    expect(d.store).toBe('lmdb');
    expect(d.redis).toMatchObject({ cluster: false, durability: 'aof', keyPrefix: 'xr:', assumeDurable: false });
    const c = loadConfig({
      file: { redis: { keyPrefix: 'relay1:' } },
      env: { XRELAY_STORE: 'redis', XRELAY_REDIS_DURABILITY: 'wait' },
      flags: { 'redis-url': 'redis://10.0.0.5:6380', 'redis-cluster': 'true', 'redis-wait-replicas': '2' },
    });
    expect(c.store).toBe('redis');
    expect(c.redis).toMatchObject({ url: 'redis://10.0.0.5:6380', cluster: true, durability: 'wait', waitReplicas: 2, keyPrefix: 'relay1:' });
  });

  it('refuses an unknown store or durability, naming the field', () => {
    const fieldOf = (f: () => unknown): string => {
      try {
        f();
        return 'accepted';
      } catch (err) {
        return err instanceof ConfigError ? err.field : 'not a ConfigError';
      }
    };
    expect(fieldOf(() => loadConfig({ env: { XRELAY_STORE: 'postgres' } }))).toBe('store');
    expect(fieldOf(() => loadConfig({ flags: { 'redis-durability': 'never' } }))).toBe('redis.durability');
  });

  it('print-config hides the Redis password and URL', () => {
    const r = cli(['print-config', '--store', 'redis', '--redis-url', 'redis://:urlpass@127.0.0.1:6379', '--redis-password', 'hunter2-secret']);
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c.store).toBe('redis');
    expect(c.redis.password).toBe('(hidden)');
    expect(c.redis.url).toBe('(hidden)');
    expect(r.stdout).not.toContain('hunter2-secret');
    expect(r.stdout).not.toContain('urlpass');
  });
});
