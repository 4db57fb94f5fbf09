/**
 * Runs the TURN plane alone (for benchmarks and manual interop), until SIGINT/SIGTERM.
 * Usage: node dist/loadtest/turn/serve.js '{"turn":{"port":3478,...}}'
 * Prints one JSON line {"udpPort","tcpPort","tlsPort"} on stdout when listening.
 */
import { loadConfig } from '../../src/config/load.js';
import { createLogger, Redactor } from '../../src/observability/log.js';
import { MetricsRegistry } from '../../src/observability/metrics.js';
import { startTurnPlane } from '../../src/turn/server/turn-plane.js';

const file = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const config = loadConfig({ file: { host: '127.0.0.1', logLevel: 'warn', ...file } });
const plane = await startTurnPlane({
  config,
  logger: createLogger({ level: config.logLevel, posture: config.logPosture }),
  redactor: new Redactor(config.logPosture),
  metrics: new MetricsRegistry(),
  http: { route() {}, websocket() {} },
});
process.stdout.write(JSON.stringify({ udpPort: plane.udpPort, tcpPort: plane.tcpPort, tlsPort: plane.tlsPort }) + '\n');
const stop = (): void => {
  // XRELAY_TURN_STATS=1: the plane's counters on stderr at exit (drops by reason, for bench diagnosis).
  if (process.env.XRELAY_TURN_STATS === '1') process.stderr.write(JSON.stringify({ dataPlane: plane.dataPlane, ...plane.stats() }) + '\n');
  void plane.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
