#!/usr/bin/env node
// Writes docs/config.schema.json from the built schema (run by `npm run docs`, after the build).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const { configJsonSchemaText } = await import(join(root, 'dist', 'src', 'config', 'json-schema.js'));
const out = join(root, 'docs', 'config.schema.json');
writeFileSync(out, configJsonSchemaText());
console.log(`wrote ${out}`);
