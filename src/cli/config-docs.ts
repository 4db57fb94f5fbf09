/**
 * The README's configuration reference, generated from the schema (`xrelay config-docs`), so the
 * documentation cannot drift from the code: a test compares the README against this output.
 */
import { envName, flagName } from '../config/fields.js';
import { listFields } from '../config/load.js';

export function configReferenceMarkdown(): string {
  const out: string[] = [];
  let section = '';
  for (const { path, field } of listFields()) {
    const name = path.length > 1 ? path[0]! : 'top level';
    if (name !== section) {
      section = name;
      out.push('', `#### ${name}`, '', '| key | flag / env | default | meaning |', '|---|---|---|---|');
    }
    const def = Array.isArray(field.default) ? field.default.join(',') : String(field.default);
    const shown = field.secret ? '(secret)' : def === '' ? '(empty)' : `\`${def}\``;
    out.push(`| \`${path.join('.')}\` | \`${flagName(path)}\` / \`${envName(path)}\` | ${shown} | ${field.doc.replace(/\|/g, '\\|')} |`);
  }
  return out.join('\n').trim() + '\n';
}

const CONFIG_START = '<!-- config:start -->';
const CONFIG_END = '<!-- config:end -->';

/** The README text with its configuration reference replaced by the current one. */
export function withConfigReference(readme: string): string {
  const a = readme.indexOf(CONFIG_START);
  const b = readme.indexOf(CONFIG_END);
  if (a === -1 || b < a) throw new Error(`README has no ${CONFIG_START} ... ${CONFIG_END} section`);
  return readme.slice(0, a + CONFIG_START.length) + '\n' + configReferenceMarkdown() + readme.slice(b);
}
