/** The `http` section: defaults are set on purpose, and an impossible pair of timeouts is refused at start. */
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, loadConfig } from '../../src/config/load.js';

describe('http options', () => {
  it('defaults bound every request well below Node\'s (300 s request, 60 s headers, 120 s TLS handshake)', () => {
    const h = defaultConfig().http;
    expect(h).toEqual({ requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 5_000, maxHeaderBytes: 16_384, maxDiscardBytes: 1_048_576, maxConnections: 50_000, maxConnectionsPerAddress: 1_024 });
  });

  it('headersTimeoutMs above requestTimeoutMs is refused, naming the field', () => {
    let caught: unknown;
    try {
      loadConfig({ file: { http: { headersTimeoutMs: 5_000, requestTimeoutMs: 2_000 } } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).field).toBe('http.headersTimeoutMs');
  });

  it('reads from the environment like every field', () => {
    const c = loadConfig({ env: { XRELAY_HTTP_REQUEST_TIMEOUT_MS: '45000', XRELAY_HTTP_MAX_HEADER_BYTES: '8192' } });
    expect(c.http.requestTimeoutMs).toBe(45_000);
    expect(c.http.maxHeaderBytes).toBe(8_192);
  });
});
