import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { clientSchemaFile, renderClientSchema } from '../../src/build/client-schema.ts';

// The client's types are only as good as they are current: a route schema changed without
// `npm run client:generate` fails here, not in an integrator's build.

test('src/client/schema.ts is what the served OpenAPI document generates today', async () => {
  const fresh = await renderClientSchema();
  const committed = readFileSync(clientSchemaFile, 'utf8');
  if (committed !== fresh) {
    const a = committed.split('\n');
    const b = fresh.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(
      `src/client/schema.ts is stale: run \`npm run client:generate\` and commit it.\n` +
        `First difference at line ${line + 1}:\n  committed: ${a[line] ?? '(end of file)'}\n  generated: ${b[line] ?? '(end of file)'}`,
    );
  }
});
