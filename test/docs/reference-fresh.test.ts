import assert from 'node:assert/strict';
import { test } from 'node:test';
import { referencePath, renderApiReference } from '../../src/docs/api-reference.ts';
import { servedOpenApiDocument } from '../../src/build/openapi-document.ts';
import { assertGeneratedFresh } from '../support/generated.ts';

// One document for both checks: building it starts the app in this process.
let document: Promise<Record<string, unknown>> | undefined;
const served = () => (document ??= servedOpenApiDocument());

test('docs/reference/api.md is what the OpenAPI document renders today', async () => {
  assertGeneratedFresh(referencePath, 'docs/reference/api.md', renderApiReference(await served()), 'npm run docs:reference');
});

test('the reference lists every operation of the document, with its error codes', async () => {
  const doc = (await served()) as { paths: Record<string, Record<string, unknown>> };
  const text = renderApiReference(doc);
  const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).map((m) => `### ${m.toUpperCase()} ${path}`),
  );
  assert.ok(operations.length > 40, `only ${operations.length} operations in the document`);
  for (const heading of operations) assert.ok(text.includes(`\n${heading}\n`), `${heading} is missing from the reference`);
  // A declared error code reaches the page: a stream cursor whose messages were pruned.
  assert.match(text, /\| 410 \|[^\n]*`cursor_expired`/);
});
