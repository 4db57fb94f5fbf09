/**
 * The config file's JSON Schema (draft 2020-12), generated from the one schema (schema.ts and the
 * `*-options.ts` files): each field's doc comment becomes its `description`, with its default,
 * bounds and choices; `x-env` and `x-flag` name the environment variable and flag that set it.
 * `npm run docs` writes it to docs/config.schema.json; a test fails when that file is stale.
 * Unknown keys are refused (`additionalProperties: false`), as `loadConfig` refuses them.
 */
import { envName, flagName, isField, type Field, type Section } from './fields.js';
import { relaySchema } from './schema.js';

type JsonSchema = { [key: string]: unknown };

function valueSchema(f: Field<unknown>): JsonSchema {
  const bounds: JsonSchema = {};
  if (f.min !== undefined) bounds.minimum = f.min;
  if (f.max !== undefined) bounds.maximum = f.max;
  switch (f.kind) {
    case 'string':
      return { type: 'string' };
    case 'int':
      return { type: 'integer', ...bounds };
    case 'number':
      return { type: 'number', ...bounds };
    case 'bool':
      return { type: 'boolean' };
    case 'enum':
      return { type: 'string', enum: [...(f.choices ?? [])] };
    case 'intList':
      return { type: 'array', items: { type: 'integer', ...bounds } };
    case 'stringList':
      return { type: 'array', items: { type: 'string' } };
  }
}

function fieldSchema(f: Field<unknown>, path: readonly string[]): JsonSchema {
  return {
    description: f.doc,
    ...valueSchema(f),
    default: f.default,
    ...(f.secret ? { writeOnly: true } : {}),
    'x-env': envName(path),
    'x-flag': flagName(path),
  };
}

function sectionSchema(section: Section, prefix: readonly string[]): JsonSchema {
  const properties: JsonSchema = {};
  for (const [key, f] of Object.entries(section)) properties[key] = fieldSchema(f, [...prefix, key]);
  return { type: 'object', properties, additionalProperties: false };
}

export function configJsonSchema(): JsonSchema {
  const properties: JsonSchema = {};
  for (const [key, entry] of Object.entries(relaySchema)) {
    properties[key] = isField(entry as Field<unknown> | Section)
      ? fieldSchema(entry as Field<unknown>, [key])
      : { description: `The ${key} section.`, ...sectionSchema(entry as Section, [key]) };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'xentrop-relay config file (--config FILE)',
    description: 'Every key is optional; defaults apply. Precedence, lowest first: defaults, this file, XRELAY_* environment variables (x-env), flags (x-flag). Generated from src/config/schema.ts by `npm run docs`: do not edit.',
    type: 'object',
    properties,
    additionalProperties: false,
  };
}

/** The file's text: stable key order, two-space indent, final newline. */
export function configJsonSchemaText(): string {
  return JSON.stringify(configJsonSchema(), null, 2) + '\n';
}
