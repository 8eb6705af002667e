import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startApi, type TestApi } from '../support/api.ts';
import { callCompleted } from '../support/events.ts';

// Issue 23: an unknown field is refused the same way by every route, naming it; it is never dropped
// in silence (a destination used to accept `signature_schem` and ignore it).

const EXTRA = 'zz_not_a_field';

/** A valid body per body-taking operation of /openapi.json; a new one fails the test until it is listed here. */
const VALID: Record<string, { body: unknown; token: 'admin' | 'account' | 'none' }> = {
  createSession: { body: { api_key: 'k' }, token: 'none' },
  createAccount: { body: { name: 'BPO' }, token: 'admin' },
  updateAccount: { body: { allowed_networks: [] }, token: 'admin' },
  createDestination: { body: { url: 'https://crm.example.com/hook', event_types: ['call_completed'] }, token: 'account' },
  updateDestination: { body: { description: 'CRM' }, token: 'account' },
  rotateDestinationSecret: { body: { grace_s: 0 }, token: 'account' },
  recoverDestination: { body: { since: '2026-11-27T10:00:00Z' }, token: 'account' },
  testDestination: { body: { event_type: 'call_completed' }, token: 'account' },
  createStreamToken: { body: { ttl_s: 60 }, token: 'account' },
  ackDestinationMessage: { body: { status: 200, duration_ms: 5 }, token: 'account' },
  createConnection: { body: { kind: 'basic', name: 'CRM', username: 'u', password: 'p' }, token: 'account' },
  updateConnection: { body: { name: 'CRM' }, token: 'account' },
  ingestEvent: { body: callCompleted('evt_unknown_field'), token: 'account' },
  createMapping: { body: { name: 'm', language: 'jsonata', source: '$' }, token: 'account' },
  updateMapping: { body: { source: '$' }, token: 'account' },
  testMapping: { body: { language: 'jsonata', source: '$', event: callCompleted('evt_test') }, token: 'account' },
};

/** The example ids in a path (`{id}` → `x_1`): validation answers before any lookup. */
const concrete = (path: string) => path.replace(/\{cursor\}/g, '1').replace(/\{[^}]+\}/g, 'x_1');

describe('unknown fields: 400 validation_error naming the field, on every route that takes a body', () => {
  let api: TestApi;
  let key: string;
  let operations: { method: string; path: string; operationId: string }[];
  before(async () => {
    api = await startApi();
    key = (await api.createAccount()).api_key;
    const doc = (await api.call('GET', '/openapi.json')).body;
    operations = Object.entries(doc.paths as Record<string, Record<string, { operationId: string; requestBody?: unknown }>>).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, op]) => (op.requestBody ? [{ method: method.toUpperCase(), path, operationId: op.operationId }] : [])),
    );
  });
  after(() => api.stop());

  const tokenOf = (who: 'admin' | 'account' | 'none') => (who === 'admin' ? api.adminToken : who === 'account' ? key : undefined);

  test('every body-taking operation refuses an extra top-level field the same way', async () => {
    assert.ok(operations.length >= 17, `${operations.length} body-taking operations`);
    for (const { method, path, operationId } of operations) {
      if (operationId === 'ingestEventBatch') continue; // an array: its envelopes are checked one by one, below
      const valid = VALID[operationId];
      assert.ok(valid, `${method} ${path} (${operationId}) takes a body: add a valid one to VALID`);
      const body = { ...(valid.body as object), [EXTRA]: 1 };
      const r = await api.call(method, concrete(path), { token: tokenOf(valid.token), body });
      assert.deepEqual(
        { status: r.status, body: r.body },
        {
          status: 400,
          body: { code: 'validation_error', message: `unknown field "${EXTRA}" in body`, issues: [{ path: EXTRA, message: `unknown field "${EXTRA}" in body` }] },
        },
        `${method} ${path}`,
      );
    }
  });

  test('the valid bodies of that table pass validation (the 400 above is the extra field alone)', async () => {
    for (const { method, path, operationId } of operations.filter((o) => o.operationId in VALID)) {
      const valid = VALID[operationId]!;
      const r = await api.call(method, concrete(path), { token: tokenOf(valid.token), body: valid.body });
      assert.notEqual(r.body?.code, 'validation_error', `${method} ${path}: ${JSON.stringify(r.body)}`);
    }
  });

  test('a nested unknown field is named by its path', async () => {
    const account = await api.createAccount();
    const quota = await api.call('PATCH', `/v1/accounts/${account.id}`, {
      token: api.adminToken,
      body: { ingest_quota: { rate_per_s: 10, burst: 100, brust: 200 } },
    });
    assert.equal(quota.status, 400);
    assert.equal(quota.body.message, 'unknown field "ingest_quota.brust" in body');
    assert.deepEqual(quota.body.issues, [{ path: 'ingest_quota.brust', message: 'unknown field "ingest_quota.brust" in body' }]);

    const tls = await api.call('POST', '/v1/connections', {
      token: key,
      body: { kind: 'basic', name: 'CRM', username: 'u', password: 'p', tls: { ca_certificate: 'x' } },
    });
    assert.equal(tls.status, 400);
    assert.equal(tls.body.message, 'unknown field "tls.ca_certificate" in body');
  });

  test('the typo of issue 23: a destination no longer drops `signature_schem`', async () => {
    const own = (await api.createAccount()).api_key;
    const r = await api.call('POST', '/v1/destinations', {
      token: own,
      body: { url: 'https://crm.example.com/hook', event_types: ['call_completed'], signature_schem: 'ed25519' },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.message, 'unknown field "signature_schem" in body');
    assert.deepEqual((await api.call('GET', '/v1/destinations', { token: own })).body.items, [], 'nothing was created');
  });

  test('a batch refuses the envelope with an unknown field, and only it', async () => {
    const r = await api.call('POST', '/v1/events/batch', { token: key, body: [{ ...callCompleted('evt_b1'), [EXTRA]: 1 }] });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(r.body.results[0], {
      index: 0,
      code: 'validation_error',
      message: `unknown field "${EXTRA}" in event`,
      issues: [{ path: EXTRA, message: `unknown field "${EXTRA}" in event` }],
    });
  });

  test('an unknown query parameter is refused too; the documented ones still work', async () => {
    const r = await api.call('GET', '/v1/deliveries?limit=5&statuz=failed', { token: key });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, {
      code: 'validation_error',
      message: 'unknown field "statuz" in querystring',
      issues: [{ path: 'querystring.statuz', message: 'unknown field "statuz" in querystring' }],
    });
    const versions = await api.call('GET', '/v1/mappings/map_none/versions?limit=5&cursor=3', { token: key });
    assert.equal(versions.status, 404, 'limit and cursor are accepted (the mapping does not exist)');
  });
});
