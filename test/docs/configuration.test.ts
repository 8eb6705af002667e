import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { envSchema } from '../../src/config.ts';
import { tuningSchema } from '../../src/temporal/tuning.ts';

// The operator's page lists every variable the server reads: one added to the configuration schema
// without a line in docs/operations/configuration.md fails here, with its name.

test('docs/operations/configuration.md names every variable of the configuration and tuning schemas', () => {
  const page = readFileSync(new URL('../../docs/operations/configuration.md', import.meta.url), 'utf8');
  const variables = [...Object.keys(envSchema.shape), ...Object.keys(tuningSchema.shape)];
  assert.ok(variables.length > 40, `only ${variables.length} variables read from the schemas`);
  const undocumented = variables.filter((name) => !page.includes(`\`${name}\``));
  assert.deepEqual(undocumented, [], 'variables the configuration page does not name (add a row to its table)');
});
