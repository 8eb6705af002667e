// What a TypeScript run hands back: the checked request, the captured logs, the context it saw.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { callStarted, SAMPLE_ACCOUNT } from '../../sandboxes/examples/sample-events.ts';
import { normaliseResult } from '../../sandboxes/result-shape.ts';
import { expectBody, expectError, runTs, useEngine } from './engine-fixture.ts';

const ctx = useEngine();

describe('results', () => {
  test('the request is normalised: method defaults to POST', async () => {
    const outcome = await runTs(ctx.engine, `export default () => ({ body: { a: 1 } })`);
    assert.deepEqual(outcome.ok && outcome.result, { method: 'POST', body: { a: 1 } });
  });

  test('method, path, headers and query come through', async () => {
    const outcome = await runTs(
      ctx.engine,
      `export default () => ({ body: null, method: 'PATCH', path: '/api/leads/884', headers: { 'X-Source': 'voiceoi' }, query: { upsert: 'true' } })`,
    );
    assert.deepEqual(outcome.ok && outcome.result, {
      method: 'PATCH',
      body: null,
      path: '/api/leads/884',
      headers: { 'X-Source': 'voiceoi' },
      query: { upsert: 'true' },
    });
  });

  test('null skips the delivery, also from an async transform', async () => {
    for (const source of [`export default () => null`, `export default async () => { await null; return null; }`]) {
      const outcome = await runTs(ctx.engine, source);
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
      assert.equal(outcome.ok && outcome.result, null);
    }
  });

  test('undefined (a forgotten return) is an error, not a silent skip', async () => {
    const error = expectError(await runTs(ctx.engine, `export default function transform() { const body = 1; }`), 'invalid_result');
    assert.match(error.message, /returned undefined/);
  });

  test('a payload not wrapped in { body } is explained', async () => {
    const error = expectError(await runTs(ctx.engine, `export default () => ({ event: 'call_completed', lead_id: '884' })`), 'invalid_result');
    assert.match(error.message, /"event", "lead_id".*put the payload under "body"/);
  });

  test('values JSON would silently drop or mangle are refused with their path', async () => {
    const cases: [string, RegExp][] = [
      [`({ body: { at: new Map() } })`, /result\.body\.at is a Map/],
      [`({ body: { items: [1, NaN] } })`, /result\.body\.items\[1\] is NaN/],
      [`({ body: { n: 10n } })`, /result\.body\.n is a BigInt/],
      [`({ body: { p: Promise.resolve(1) } })`, /a missing await/],
      [`({ body: { s: Symbol('x') } })`, /result\.body\.s is a symbol/],
    ];
    for (const [expression, message] of cases) {
      const error = expectError(await runTs(ctx.engine, `export default (): any => ${expression}`), 'invalid_result');
      assert.match(error.message, message);
    }
  });

  test('dates become ISO strings, as JSON.stringify does', async () => {
    assert.deepEqual(expectBody(await runTs(ctx.engine, `export default () => ({ body: { at: new Date(0) } })`)), { at: '1970-01-01T00:00:00.000Z' });
  });

  test('an oversized result is refused with its size', async () => {
    const error = expectError(await runTs(ctx.engine, `export default () => ({ body: 'x'.repeat(2048) })`, { maxResultBytes: 1024 }), 'invalid_result');
    assert.match(error.message, /over the limit of 1024 bytes/);
  });

  test('headers the delivery layer owns cannot be set', async () => {
    for (const name of ['webhook-signature', 'X-VoiceOI-Event', 'Content-Length', 'Host']) {
      const error = expectError(await runTs(ctx.engine, `export default () => ({ body: 1, headers: { '${name}': 'x' } })`), 'invalid_result');
      assert.match(error.message, /set by VoiceOI Hooks itself/);
    }
  });
});

describe('logs', () => {
  test('console.* and ctx.log are captured in order', async () => {
    const outcome = await runTs(
      ctx.engine,
      `export default function transform(event: any, ctx: any) {
  console.log('lead', event.data.lead_id, { n: 1, list: [1, 'two'] });
  ctx.log('duration', event.data.duration_s);
  console.warn('careful');
  console.error(new Error('shown with its stack'));
  return null;
}`,
    );
    assert.equal(outcome.ok, true);
    assert.deepEqual(outcome.logs.slice(0, 3), ['lead 884 {"n": 1, "list": [1, "two"]}', 'duration 842.6', '[warn] careful']);
    // The logged stack points into the engineer's file, like a thrown error's.
    assert.match(outcome.logs[3] ?? '', /^\[error\] Error: shown with its stack\n\s+at transform \(transform\.ts:5:17\)/);
  });

  test('at most 100 lines of at most 1 KiB are kept', async () => {
    const outcome = await runTs(
      ctx.engine,
      `export default function transform() {
  for (let i = 0; i < 250; i++) console.log('line ' + i + ' ' + 'é'.repeat(2000));
  return null;
}`,
    );
    assert.equal(outcome.logs.length, 101);
    assert.ok(outcome.logs.slice(0, 100).every((l) => Buffer.byteLength(l) <= 1024));
    assert.match(outcome.logs[0] ?? '', /^line 0 é+…$/);
    assert.equal(outcome.logs[100], '… 150 more log lines were not captured (limit 100)');
  });

  test('logging a huge or cyclic object stays bounded', async () => {
    const outcome = await runTs(
      ctx.engine,
      `export default function transform(event: any) {
  const big: any = { event, list: Array.from({ length: 100000 }, (_, i) => i) };
  big.self = big;
  console.log(big);
  return null;
}`,
    );
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    assert.ok(Buffer.byteLength(outcome.logs[0] ?? '') <= 1024);
  });

  test('logs of a failed run come back with the error', async () => {
    const outcome = await runTs(ctx.engine, `export default function transform() {\n  console.log('about to fail');\n  throw new Error('nope');\n}`);
    expectError(outcome, 'script_error');
    assert.deepEqual(outcome.logs, ['about to fail']);
  });
});

describe('context', () => {
  test('the transform sees the event and the delivery context, read-only', async () => {
    const body = expectBody(
      await runTs(
        ctx.engine,
        `export default function transform(event: any, ctx: any) {
  let frozen = false;
  try { ctx.destination.id = 'changed'; } catch { frozen = true; }
  return { body: { type: event.type, call: event.data.call_id, destination: ctx.destination, delivery: ctx.delivery, mapping: ctx.mapping, frozen } };
}`,
        undefined,
        callStarted(),
      ),
    );
    assert.deepEqual(body, {
      type: 'call_started',
      call: 'call_7f3e9a21',
      destination: { id: 'dst_crm', url: 'https://crm.example.com/hooks' },
      delivery: { id: 'dlv_01HZX3M4QA', attempt: 1 },
      mapping: { id: 'map_example', version: 1 },
      frozen: true,
    });
  });

  test('a key reused for a different source runs the new source', async () => {
    const base = { accountId: SAMPLE_ACCOUNT, key: 'reused@1', language: 'typescript' as const, event: callStarted(), ctx: { destination: { id: 'd', url: 'u' }, delivery: { id: 'x' }, mapping: { id: 'm', version: 1 } } };
    const first = await ctx.engine.run({ ...base, source: `export default () => ({ body: 1 })` });
    const second = await ctx.engine.run({ ...base, source: `export default () => ({ body: 2 })` });
    assert.equal(expectBody(first), 1);
    assert.equal(expectBody(second), 2);
  });

  test('an event that is not JSON is refused before the sandbox', async () => {
    const cyclic: Record<string, unknown> = { type: 'call_started' };
    cyclic.self = cyclic;
    expectError(await runTs(ctx.engine, `export default () => null`, undefined, cyclic), 'invalid_input');
  });

  test('limits are clamped to their bounds', async () => {
    // 0 ms would make every run fail; the bound is 1 ms and this transform needs far less.
    const outcome = await runTs(ctx.engine, `export default () => ({ body: 'fast' })`, { timeoutMs: 0, memoryMb: 1 });
    assert.equal(expectBody(outcome), 'fast');
  });
});

describe('normaliseResult (host-side check)', () => {
  test('refuses paths that could escape the destination', () => {
    for (const path of ['services/x', '//evil.example/x', '/a/../admin', '/a?b=1', '/a b']) {
      const check = normaliseResult({ body: 1, path });
      assert.equal(check.ok, false, path);
    }
    assert.deepEqual(normaliseResult({ body: 1, path: '/services/data/v60.0/sobjects/Lead/00Q5' }), {
      ok: true,
      request: { method: 'POST', body: 1, path: '/services/data/v60.0/sobjects/Lead/00Q5' },
    });
  });

  test('refuses bad methods, header values and query values', () => {
    assert.match(fail({ body: 1, method: 'DELETE' }), /"method" must be/);
    assert.match(fail({ body: 1, headers: { 'X-A': 'line\r\nInjected: 1' } }), /line break/);
    assert.match(fail({ body: 1, headers: { 'Bad Name': 'x' } }), /not a valid HTTP header name/);
    assert.match(fail({ body: 1, query: { page: 2 } }), /"query.page" must be a string/);
    assert.match(fail([1, 2]), /it returned an array/);
    assert.deepEqual(normaliseResult({ body: 1, method: 'patch' }), { ok: true, request: { method: 'PATCH', body: 1 } });
  });
});

function fail(value: unknown): string {
  const check = normaliseResult(value);
  assert.equal(check.ok, false);
  return check.ok ? '' : check.message;
}
