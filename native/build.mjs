#!/usr/bin/env node
// Builds the native data plane addon with node-gyp (local Node headers through npm's config).
// `--optional` (the package's install hook): never fails the install; if the build fails, say so
// in one line and the TypeScript data plane serves (XRELAY_NATIVE=0 forces that anyway).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const optional = process.argv.includes('--optional');
const extra = process.argv.slice(2).filter((a) => a !== '--optional');

if (process.platform !== 'linux') {
  console.log('xrelay: native data plane is Linux-only; the TypeScript data plane will serve');
  process.exit(0);
}
const local = join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
const gyp = existsSync(local) ? local : process.env.npm_config_node_gyp;
if (gyp === undefined || !existsSync(gyp)) {
  console.log('xrelay: node-gyp not found; the TypeScript data plane will serve');
  process.exit(optional ? 0 : 1);
}
// Prefer the running Node's own headers (no download): <prefix>/include/node next to bin/node.
const prefix = dirname(dirname(process.execPath));
if (process.env.npm_config_nodedir === undefined && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) extra.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, [gyp, 'rebuild', '-C', here, ...extra], { stdio: optional ? 'pipe' : 'inherit', encoding: 'utf8' });
if (r.status !== 0) {
  if (!optional) process.exit(r.status ?? 1);
  const why = `${r.stderr ?? ''}`.split('\n').find((l) => /error/i.test(l)) ?? `exit ${r.status}`;
  console.log(`xrelay: native data plane build failed (${why.trim()}); the TypeScript data plane will serve`);
  process.exit(0);
}
console.log('xrelay: native data plane built (native/build/Release/xrelay_dataplane.node)');
