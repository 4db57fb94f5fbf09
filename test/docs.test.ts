/** The README keeps its promises: the config reference and the error table match the code. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withConfigReference } from '../src/cli/config-docs.js';
import { ERROR_CODES } from '../src/errors.js';

const readme = readFileSync(resolve(__dirname, '../README.md'), 'utf8');

describe('README', () => {
  it('has the generated configuration reference (run `npm run docs` after changing the schema)', () => {
    expect(withConfigReference(readme)).toBe(readme);
  });

  it('lists every error code with its status', () => {
    for (const [code, status] of Object.entries(ERROR_CODES)) {
      expect(readme, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });

  it('gives the two quick-start commands, and .ci/run runs the same test command', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm install && npm test');
    expect(readFileSync(resolve(__dirname, '../.ci/run'), 'utf8')).toContain('npm install && npm test');
  });
});
