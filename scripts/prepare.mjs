#!/usr/bin/env node
// The package's `prepare` hook (runs on `npm install`/`npm ci` in a checkout and before `npm pack`;
// never for a consumer installing the tarball, which ships dist/). Builds dist/ with TypeScript when it
// is installed; a production install of a checkout (`npm ci --omit=dev`) has no TypeScript, so it keeps
// an existing dist/ (e.g. copied from a build stage) or says what to do.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
let tsc;
try {
  tsc = join(dirname(createRequire(join(root, 'package.json')).resolve('typescript/package.json')), 'bin', 'tsc');
} catch {
  tsc = undefined;
}
if (tsc === undefined || !existsSync(tsc)) {
  if (existsSync(join(root, 'dist', 'src', 'cli', 'main.js'))) {
    console.log('xrelay: TypeScript is not installed (production install); using the dist/ already built');
    process.exit(0);
  }
  console.error('xrelay: dist/ is missing and TypeScript is not installed: run `npm install` with dev dependencies, then `npm run build`');
  process.exit(1);
}
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
process.exit(r.status ?? 1);
