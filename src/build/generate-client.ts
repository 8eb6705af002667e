// `npm run client:generate`: writes src/client/schema.ts from the API's OpenAPI document.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { clientSchemaFile, renderClientSchema } from './client-schema.ts';
import { projectRoot } from './layout.ts';

try {
  writeFileSync(clientSchemaFile, await renderClientSchema());
  process.stdout.write(`client: wrote ${relative(projectRoot, clientSchemaFile)}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
