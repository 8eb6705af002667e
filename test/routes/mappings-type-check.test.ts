// Type-checking an upload never stalls the API: it runs off the event loop, bounded in time and size.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MAX_SOURCE_BYTES } from '../../sandboxes/validate.ts';
import { callCompleted } from '../support/events.ts';
import { eventually, startStack, type Stack } from '../support/stack.ts';
import { TYPE_BOMB } from '../support/type-bomb.ts';

const GOOD = `import type { VoiceOIEvent, TransformResult } from 'voiceoi';
export default function transform(event: VoiceOIEvent): TransformResult { return { body: event.id }; }`;

describe('type-checking uploads', () => {
  let stack: Stack;
  let key: string;
  before(async () => {
    stack = await startStack();
    key = (await stack.createAccount()).api_key;
  });
  after(() => stack.stop());

  test('a type-level bomb on /v1/mappings/test: other requests are answered meanwhile, the bomb gets type_check_timeout', async () => {
    const answered: string[] = [];
    const bomb = stack
      .call('POST', '/v1/mappings/test', { token: key, body: { language: 'typescript', source: TYPE_BOMB, event: callCompleted('evt_bomb') } })
      .finally(() => answered.push('bomb'));
    // The bomb is in the checker now; on the event loop it would hold every request until it ends.
    await eventually(async () => stack.core.engine.stats().typeChecksRunning === 1 || undefined, 'the bomb to reach the type checker');
    const health = await stack.call('GET', '/healthz');
    answered.push('healthz');
    const types = await stack.call('GET', '/v1/event-types', { token: key });
    answered.push('event-types');
    assert.equal(health.status, 200);
    assert.equal(types.status, 200);
    assert.equal(stack.core.engine.stats().typeChecksRunning, 1, 'both were answered while the bomb was still being checked');

    const r = await bomb;
    assert.deepEqual(answered, ['healthz', 'event-types', 'bomb']);
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.equal(r.body.code, 'type_check_timeout');
    assert.match(r.body.message, /longer than 5 s/);
  });

  test('after a timeout the checker is replaced: the next upload is checked, and a bomb saves nothing', async () => {
    const before = stack.core.engine.stats().typeCheckerReplacements;
    const bomb = await stack.call('POST', '/v1/mappings', { token: key, body: { name: 'bomb', language: 'typescript', source: TYPE_BOMB } });
    assert.equal(bomb.status, 400);
    assert.equal(bomb.body.code, 'type_check_timeout');
    assert.equal(stack.core.engine.stats().typeCheckerReplacements, before + 1);

    const typo = await stack.call('POST', '/v1/mappings', { token: key, body: { name: 'typo', language: 'typescript', source: GOOD.replace('event.id', 'event.idd') } });
    assert.equal(typo.status, 400);
    assert.equal(typo.body.code, 'type_error');
    const good = await stack.call('POST', '/v1/mappings', { token: key, body: { name: 'good', language: 'typescript', source: GOOD } });
    assert.equal(good.status, 201, JSON.stringify(good.body));
    const list = await stack.call('GET', '/v1/mappings', { token: key });
    assert.deepEqual(list.body.items.map((m: { name: string }) => m.name), ['good']);
  });

  test('uploads beyond what the checker queue holds: 503 type_checker_unavailable with Retry-After, the rest are checked', async () => {
    const bomb = stack.call('POST', '/v1/mappings', { token: key, body: { name: 'bomb', language: 'typescript', source: TYPE_BOMB } });
    await eventually(async () => stack.core.engine.stats().typeChecksRunning === 1 || undefined, 'the bomb to reach the type checker');
    const uploads = await Promise.all(
      Array.from({ length: 9 }, (_, i) => stack.call('POST', '/v1/mappings', { token: key, body: { name: `queued-${i}`, language: 'typescript', source: GOOD } })),
    );
    const busy = uploads.filter((r) => r.status === 503);
    assert.equal(busy.length, 1, JSON.stringify(uploads.map((r) => r.status)));
    assert.equal(busy[0]!.body.code, 'type_checker_unavailable');
    assert.equal(busy[0]!.headers.get('retry-after'), '5');
    assert.equal(uploads.filter((r) => r.status === 201).length, 8);
    assert.equal((await bomb).body.code, 'type_check_timeout');
  });

  test(`a source over ${MAX_SOURCE_BYTES / 1024} KiB: 413 source_too_large, before any parser`, async () => {
    const source = `${GOOD}\n// ${'x'.repeat(MAX_SOURCE_BYTES)}`;
    for (const [method, path, body] of [
      ['POST', '/v1/mappings', { name: 'big', language: 'typescript', source }],
      ['POST', '/v1/mappings/test', { language: 'typescript', source, event: callCompleted('evt_big') }],
      ['POST', '/v1/mappings', { name: 'big', language: 'jsonata', source: `{"a": 1}\n/* ${'x'.repeat(MAX_SOURCE_BYTES)} */` }],
    ] as const) {
      const r = await stack.call(method, path, { token: key, body });
      assert.equal(r.status, 413, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'source_too_large');
      assert.match(r.body.message, new RegExp(`over the limit of ${MAX_SOURCE_BYTES} bytes`));
    }
  });

  test('10 KB of nested parentheses (which crash swc, and with it the process): 400 syntax_error, and the API lives on', async () => {
    const source = `export default () => (${'('.repeat(5_000)}1${')'.repeat(5_000)});`;
    for (const [path, body] of [
      ['/v1/mappings', { name: 'deep', language: 'typescript', source }],
      ['/v1/mappings/test', { language: 'typescript', source, event: callCompleted('evt_deep') }],
    ] as const) {
      const r = await stack.call('POST', path, { token: key, body });
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'syntax_error');
      assert.match(r.body.message, /nested too deeply/);
    }
    assert.equal((await stack.call('GET', '/healthz')).status, 200);
  });
});
