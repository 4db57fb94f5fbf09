/**
 * `xrelay drain [--relay URL] [--config FILE] [--off]`: tells a running node to drain (POST
 * /v1/admin/drain) or to stop draining (`--off`: DELETE). A draining node takes no new rooms (cluster
 * placement skips it; a join for a new room there is answered room_elsewhere to another node) while
 * its calls go on, and answers /readyz with 503 `draining`. The route is open to the addresses in
 * the node's `metricsAllow` (loopback by default), like /metrics: run it on the node's host.
 *
 * Without --relay the node's URL comes from the config (the file given, XRELAY_* variables):
 * http(s)://host:httpPort, a wildcard host read as loopback.
 */
import { parseArgs } from 'node:util';
import { loadConfig, readConfigFile } from '../config/load.js';
import type { RelayConfig } from '../config/schema.js';

const USAGE = 'usage: xrelay drain [--relay <url>] [--config <file>] [--off]\n';

export async function runDrainCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values: { relay?: string; config?: string; off?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({ args: [...argv], options: { relay: { type: 'string' }, config: { type: 'string', short: 'c' }, off: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const base = values.relay ?? nodeUrl(loadConfig({ ...(values.config !== undefined ? { file: readConfigFile(values.config) } : {}), env }));
  const url = new URL('v1/admin/drain', base.endsWith('/') ? base : `${base}/`);
  let res: Response;
  try {
    res = await fetch(url, { method: values.off === true ? 'DELETE' : 'POST', signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    process.stderr.write(`xrelay drain: no answer from ${url.origin} (${(err as Error).message})\n`);
    return 1;
  }
  const text = await res.text();
  if (!res.ok) {
    process.stderr.write(`xrelay drain: ${url.origin} answered ${res.status} ${text}\n`);
    return 1;
  }
  const draining = (JSON.parse(text) as { draining?: boolean }).draining === true;
  process.stdout.write(draining ? `${url.origin} is draining: no new rooms; its calls go on (/readyz answers 503)\n` : `${url.origin} is no longer draining\n`);
  return 0;
}

function nodeUrl(c: RelayConfig): string {
  const host = c.host === '0.0.0.0' ? '127.0.0.1' : c.host === '::' ? '::1' : c.host;
  return `${c.tlsCert !== '' ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${c.httpPort}`;
}
