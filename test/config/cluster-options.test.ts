/** The `cluster` section's checks: the renewal fits twice in the lease, the public URL is an http(s) base, a wildcard host needs one in cluster mode. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';

function named(file: Record<string, unknown>): string {
  try {
    loadConfig({ file });
  } catch (err) {
    if (err instanceof ConfigError) return err.field;
    throw err;
  }
  return 'accepted';
}

describe('cluster options', () => {
  it('defaults: a 6 s lease renewed every 2 s, the listening URL', () => {
    expect(loadConfig({}).cluster).toEqual({ publicUrl: '', leaseTtlMs: 6000, leaseRenewMs: 2000 });
    expect(loadConfig({ flags: { 'cluster-lease-ttl-ms': '3000', 'cluster-lease-renew-ms': '1000' } }).cluster).toMatchObject({ leaseTtlMs: 3000, leaseRenewMs: 1000 });
    expect(loadConfig({ env: { XRELAY_CLUSTER_PUBLIC_URL: 'https://node-a.example/x/' } }).cluster.publicUrl).toBe('https://node-a.example/x/');
  });

  it('refuses a renewal longer than half the lease, and a public URL that is not an http(s) base', () => {
    expect(named({ cluster: { leaseTtlMs: 3000, leaseRenewMs: 1500 } })).toBe('accepted');
    expect(named({ cluster: { leaseTtlMs: 3000, leaseRenewMs: 1501 } })).toBe('cluster.leaseRenewMs');
    for (const bad of ['node-a', 'ftp://node-a', 'https://node-a/?x=1', 'https://u:p@node-a', 'https://node-a/#f']) {
      expect(named({ cluster: { publicUrl: bad } })).toBe('cluster.publicUrl');
    }
  });

  it('cluster mode on a wildcard host needs cluster.publicUrl (the address joins are redirected to)', () => {
    const wild = { host: '0.0.0.0', media: { advertisedHost: '203.0.113.5' }, turn: { enabled: false } };
    expect(named({ ...wild, store: 'redis' })).toBe('cluster.publicUrl');
    expect(named({ ...wild, store: 'redis', cluster: { publicUrl: 'https://node-a.example' } })).toBe('accepted');
    expect(named(wild)).toBe('accepted'); // no cluster: no redirects
  });
});
