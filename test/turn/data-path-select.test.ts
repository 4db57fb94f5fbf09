// The TURN data-path switch: XRELAY_NATIVE over turn.dataPlane, the fallback when the addon is
// missing, the start-up error when native is demanded but missing, and the log line naming the path.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadNativeTurn, selectTurnDataPath } from '../../src/turn/server/native-turn.js';
import { startTestTurn } from './helpers/plane.js';

const missing = (): { reason: string } => ({ reason: 'addon not built (npm run build:native)' });

describe('TURN data path selection', () => {
  it('XRELAY_NATIVE=0|1 overrides turn.dataPlane; auto falls back to TypeScript; native without addon is an error', () => {
    expect(selectTurnDataPath('native', { XRELAY_NATIVE: '0' }, missing)).toEqual({ why: 'XRELAY_NATIVE=0' });
    expect(selectTurnDataPath('typescript', {}, missing)).toEqual({ why: 'turn.dataPlane=typescript' });
    expect(selectTurnDataPath('auto', {}, missing)).toEqual({ why: 'native unavailable: addon not built (npm run build:native)' });
    expect(() => selectTurnDataPath('auto', { XRELAY_NATIVE: '1' }, missing)).toThrow(/native requested \(XRELAY_NATIVE=1\)/);
    const fake = { addon: {} as never, reason: 'loaded' };
    expect(selectTurnDataPath('auto', {}, () => fake).addon).toBe(fake.addon);
  });

  it.each(['typescript', 'native'] as const)('turn.dataPlane=%s serves that path and says so in the log', async (kind) => {
    // The addon is part of the build (CI builds it): its absence fails here, naming why, rather
    // than passing a test that checked nothing.
    if (kind === 'native') expect(loadNativeTurn().reason, 'the native addon must load (npm run build:native)').toBe('loaded');
    const saved = process.env.XRELAY_NATIVE;
    delete process.env.XRELAY_NATIVE;
    const lines: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (d: Buffer) => lines.push(d.toString()));
    try {
      const { plane } = await startTestTurn({ dataPlane: kind }, sink);
      expect(plane.dataPlane).toBe(kind);
      await plane.close();
    } finally {
      if (saved !== undefined) process.env.XRELAY_NATIVE = saved;
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(lines.join('')).toContain(`${kind} data path (turn.dataPlane=${kind})`);
  });
});
