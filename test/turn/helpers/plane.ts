// Builds a PlaneContext for the TURN plane from defaults plus overrides, bound to 127.0.0.1 port 0.
// The data path under test follows XRELAY_NATIVE like the media suite (test/media/plane-select.ts):
// 1 native, 0 TypeScript, unset native when the addon is built; a plane served by the other path
// fails the test, so `XRELAY_NATIVE=0|1 vitest run test/turn` really covers both.
import { testPlane } from '../../media/plane-select.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger, Redactor } from '../../../src/observability/log.js';
import { MetricsRegistry } from '../../../src/observability/metrics.js';
import type { PlaneContext } from '../../../src/host/plane.js';
import { startTurnPlane, type TurnPlane } from '../../../src/turn/server/turn-plane.js';

export async function startTestTurn(
  turn: Record<string, unknown> = {},
  logTo?: NodeJS.WritableStream,
): Promise<{ plane: TurnPlane; ctx: PlaneContext }> {
  const config = loadConfig({
    file: {
      host: (turn.host as string | undefined) ?? '127.0.0.1',
      logLevel: 'silent',
      turn: { port: 0, relayPortMin: 0, relayPortMax: 0, staticUsers: ['alice:secret1'], authSecret: 'rest-secret', peerAllowList: ['127.0.0.1/32'], ...Object.fromEntries(Object.entries(turn).filter(([k]) => k !== 'host')) },
    },
  });
  const ctx: PlaneContext = {
    config,
    logger: createLogger({ level: logTo ? 'debug' : 'silent', posture: 'private', ...(logTo ? { destination: logTo } : {}) }),
    redactor: new Redactor('private'),
    metrics: new MetricsRegistry(),
    http: { route() {}, websocket() {} },
  };
  const plane = await startTurnPlane(ctx);
  const want = turn.dataPlane === undefined ? testPlane() : turn.dataPlane;
  if (want !== 'auto' && plane.dataPlane !== want) {
    await plane.close();
    throw new Error(`expected the ${String(want)} TURN data path, got ${plane.dataPlane}`);
  }
  return { plane, ctx };
}
