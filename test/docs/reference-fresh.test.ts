import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { referencePath, renderApiReference } from '../../src/docs/api-reference.ts';
import { servedOpenApiDocument } from '../../src/build/openapi-document.ts';

test('docs/reference/api.md is what the OpenAPI document renders today', async () => {
  const fresh = renderApiReference(await servedOpenApiDocument());
  const committed = readFileSync(referencePath, 'utf8');
  if (committed !== fresh) {
    const a = committed.split('\n');
    const b = fresh.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.fail(
      `docs/reference/api.md is stale: run \`npm run docs:reference\` and commit it.\n` +
        `First difference at line ${line + 1}:\n  committed: ${a[line] ?? '(end of file)'}\n  generated: ${b[line] ?? '(end of file)'}`,
    );
  }
});

test('the reference lists every operation of the document, with its error codes', async () => {
  const doc = (await servedOpenApiDocument()) as { paths: Record<string, Record<string, unknown>> };
  const text = renderApiReference(doc);
  const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).map((m) => `### ${m.toUpperCase()} ${path}`),
  );
  assert.ok(operations.length > 40, `only ${operations.length} operations in the document`);
  for (const heading of operations) assert.ok(text.includes(`\n${heading}\n`), `${heading} is missing from the reference`);
  // A declared error code reaches the page: a stream cursor whose messages were pruned.
  assert.match(text, /\| 410 \|[^\n]*`cursor_expired`/);
});
