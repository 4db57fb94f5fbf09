/** The data-plane switch: XRELAY_NATIVE over media.dataPlane, fallback when the addon is missing, and the log line. */
import { describe, expect, it } from 'vitest';
import { chooseDataPlane } from '../../src/native/switch.js';
import { tryLoadAddon } from '../../src/native/addon.js';
import { startMediaPlane } from '../../src/media/server/media-plane.js';
import { createLogger, Redactor } from '../../src/observability/log.js';
import { MetricsRegistry } from '../../src/observability/metrics.js';
import { HttpRouter } from '../../src/host/http-router.js';
import { testConfig } from './harness.js';
import { hasNative } from './plane-select.js';

describe('data plane selection', () => {
  it('XRELAY_NATIVE=0|1 overrides media.dataPlane; unset keeps the config', () => {
    expect(chooseDataPlane('native', { XRELAY_NATIVE: '0' })).toBe('typescript');
    expect(chooseDataPlane('typescript', { XRELAY_NATIVE: '1' })).toBe('native');
    expect(chooseDataPlane('auto', {})).toBe('auto');
    expect(chooseDataPlane('typescript', { XRELAY_NATIVE: '' })).toBe('typescript');
  });

  it('a missing addon is a reason, never a throw', () => {
    const r = tryLoadAddon(['/nonexistent/xrelay_dataplane.node']);
    expect(r.addon).toBeUndefined();
    expect(r.reason).toMatch(/not built/);
  });

  it.each(['typescript', ...(hasNative ? ['native'] : [])] as const)('logs which data plane serves (%s)', async (kind) => {
    // the config field decides here: the suite's own XRELAY_NATIVE must not override it
    const saved = process.env.XRELAY_NATIVE;
    delete process.env.XRELAY_NATIVE;
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', posture: 'private', destination: { write: (l: string) => void lines.push(l) } as unknown as NodeJS.WritableStream });
    const metrics = new MetricsRegistry();
    const router = new HttpRouter(logger, metrics, 1 << 20);
    const plane = await startMediaPlane({ config: testConfig({ dataPlane: kind }), logger, redactor: new Redactor('private'), metrics, http: router }).finally(() => {
      if (saved !== undefined) process.env.XRELAY_NATIVE = saved;
    });
    expect(plane.dataPlane).toBe(kind);
    await plane.close();
    expect(lines.some((l) => l.includes(`(${kind} data plane)`))).toBe(true);
  });
});
