import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compileErrors, validate } from '@readme/openapi-parser';
import { startApi, type TestApi } from '../support/api.ts';
import { registeredRoutes } from '../support/routes.ts';

// The contract every client and the reference are generated from (issue 23): /openapi.json must be a
// valid OpenAPI document that holds every route the API serves, each typed and named.

/** Routes left out of the document on purpose; none of them is a tenant's API. */
const HIDDEN: { route: RegExp; why: string }[] = [
  { route: /^(GET|HEAD) \/openapi\.json$/, why: 'the document itself' },
  { route: /^(GET|HEAD) \/docs(\/.*)?$/, why: 'the Swagger UI page and its assets' },
  { route: /^(GET|HEAD) \/console(\/|\*|$)/, why: 'the console single-page app (HTML and assets)' },
  { route: /^[A-Z]+ \/codec\//, why: "the Temporal payload codec: the admin token or the Temporal UI's secret URL, never an account key" },
  { route: /^OPTIONS /, why: 'CORS preflights, answered by the browser' },
];

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head'] as const;
type Operation = { operationId?: string; tags?: string[]; responses: Record<string, { description?: string; content?: Record<string, { schema?: Record<string, unknown> }> }> };

/** fastify's `/v1/destinations/:id` as OpenAPI writes it. */
const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('GET /openapi.json: the API contract', () => {
  let api: TestApi;
  let doc: { openapi: string; paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>; components: { schemas: Record<string, any> } };
  let operations: { method: string; path: string; op: Operation }[];
  before(async () => {
    api = await startApi();
    const r = await api.call('GET', '/openapi.json');
    assert.equal(r.status, 200);
    doc = r.body;
    operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.flatMap((method) => (item[method] ? [{ method: method.toUpperCase(), path, op: item[method]! }] : [])),
    );
  });
  after(() => api.stop());

  test('is a valid OpenAPI document (@readme/openapi-parser)', async () => {
    const result = await validate(structuredClone(doc) as unknown as Parameters<typeof validate>[0]);
    assert.ok(result.valid, result.valid ? '' : compileErrors(result));
  });

  test('holds every route the API registered, except the ones hidden on purpose', () => {
    const documented = new Set(operations.map((o) => `${o.method} ${o.path}`));
    const routes = registeredRoutes(api.api);
    const missing = routes
      // HEAD is answered for every GET by fastify itself.
      .filter((r) => r.method !== 'HEAD' || !routes.some((g) => g.method === 'GET' && g.url === r.url))
      .map((r) => `${r.method} ${openapiPath(r.url)}`)
      .filter((route) => !HIDDEN.some((h) => h.route.test(route)) && !documented.has(route));
    assert.deepEqual(missing, [], 'routes missing from /openapi.json (document them, or add them to HIDDEN with the reason)');
    assert.ok(documented.size >= 45, `only ${documented.size} operations documented`);
  });

  test('every operation has a unique camelCase operationId and a tag', () => {
    const ids = operations.map((o) => o.op.operationId);
    for (const [i, o] of operations.entries()) {
      assert.match(ids[i] ?? '', /^[a-z][A-Za-z0-9]+$/, `${o.method} ${o.path}: operationId`);
      assert.ok(o.op.tags?.length, `${o.method} ${o.path}: tags`);
    }
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
  });

  test('every operation documents its success: a schema, or a described answer without a body', () => {
    for (const { method, path, op } of operations) {
      const success = Object.entries(op.responses).filter(([status]) => /^2/.test(status));
      assert.ok(success.length > 0, `${method} ${path}: no 2xx response`);
      for (const [status, response] of success) {
        const where = `${method} ${path} ${status}`;
        if (status === '204') {
          assert.equal(response.content, undefined, `${where}: a 204 has no body`);
          assert.ok(response.description && response.description !== 'Default Response', `${where}: describe it`);
          continue;
        }
        const media = Object.entries(response.content ?? {});
        assert.ok(media.length > 0, `${where}: no content`);
        for (const [type, { schema }] of media) {
          assert.ok(schema && Object.keys(schema).length > 0, `${where} ${type}: no schema`);
          if (type !== 'application/json') assert.ok((response.description ?? '').length > 20, `${where} ${type}: describe the format`);
        }
      }
    }
  });

  test('every error answer uses the shared error shape: a component with code and message', () => {
    const errorShaped = (ref: unknown): boolean => {
      const name = typeof ref === 'string' ? ref.replace('#/components/schemas/', '') : undefined;
      const schema = name ? doc.components.schemas[name] : undefined;
      return Boolean(schema?.required?.includes('code') && schema.required.includes('message') && schema.properties.code && schema.properties.message);
    };
    assert.ok(errorShaped('#/components/schemas/Error'));
    let count = 0;
    for (const { method, path, op } of operations) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (!/^[45]/.test(status) || (path === '/healthz' && status === '503')) continue;
        const schema = response.content?.['application/json']?.schema;
        assert.ok(errorShaped(schema?.$ref), `${method} ${path} ${status}: ${JSON.stringify(schema)} is not the shared error schema`);
        count++;
      }
      if (op.operationId !== 'getHealth' && op.operationId !== 'listEventTypes' && op.operationId !== 'getMetrics') {
        assert.ok(Object.keys(op.responses).some((s) => /^4/.test(s)), `${method} ${path}: documents no error`);
      }
    }
    assert.ok(count > 100, `${count} error responses`);
  });

  test('a delivery is typed field by field (GET /v1/deliveries/:id had no response schema)', () => {
    const schema = JSON.stringify(doc.paths['/v1/deliveries/{id}']?.get?.responses['200']?.content?.['application/json']?.schema ?? {});
    for (const field of ['attempts', 'accepted_at', 'delivered_at', 'verdict', 'workflow', 'acks', 'erased']) assert.ok(schema.includes(`"${field}"`), field);
  });

  test('the live stream is documented as Server-Sent Events, with its frames', () => {
    const ok = doc.paths['/v1/destinations/{id}/stream']?.get?.responses['200'];
    assert.ok(ok?.content?.['text/event-stream'], JSON.stringify(ok));
    assert.match(ok.description ?? '', /event: <event type>/);
  });
});
