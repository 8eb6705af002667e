import { test } from 'node:test';
import { clientSchemaFile, renderClientSchema } from '../../src/build/client-schema.ts';
import { assertGeneratedFresh } from '../support/generated.ts';

// The client's types are only as good as they are current: a route schema changed without
// `npm run client:generate` fails here, not in an integrator's build.

test('src/client/schema.ts is what the served OpenAPI document generates today', async () => {
  assertGeneratedFresh(clientSchemaFile, 'src/client/schema.ts', await renderClientSchema(), 'npm run client:generate');
});
