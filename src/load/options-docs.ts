/** `node dist/src/load/options-docs.js docs/LOADTEST.md`: rewrites the options table of the load kit's docs. */
import { readFileSync, writeFileSync } from 'node:fs';
import { withOptionsTable } from './options.js';

const file = process.argv[2] ?? 'docs/LOADTEST.md';
writeFileSync(file, withOptionsTable(readFileSync(file, 'utf8')));
