import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { jsonDepth, MAX_JSON_DEPTH } from '../src/json-depth.ts';
import { callCompleted } from './support/events.ts';
import { startStack, type Stack } from './support/stack.ts';

const nested = (levels: number, inner = '1') => '['.repeat(levels) + inner + ']'.repeat(levels);

describe('jsonDepth', () => {
  test('counts nested objects and arrays, not brackets inside strings or escaped quotes', () => {
    assert.equal(jsonDepth('1'), 0);
    assert.equal(jsonDepth('{"a":[{"b":{}}]}'), 4);
    assert.equal(jsonDepth(nested(10)), 10);
    assert.equal(jsonDepth('{"a":"[[[{{{","b":"\\"[[[\\\\","c":[1]}'), 2);
  });
  test('stops counting once past the limit', () => {
    assert.equal(jsonDepth(nested(100_000), 64), 65);
  });
});

describe('every JSON route refuses a body nested deeper than the limit', () => {
  let stack: Stack;
  let key: string;
  before(async () => {
    stack = await startStack({}, { worker: false });
    key = (await stack.createAccount()).api_key;
  });
  after(() => stack.stop());

  const deepEvent = (levels: number) => JSON.stringify(callCompleted('evt_deep')).replace('"disposition":"qualified"', `"disposition":"qualified","extra":${nested(levels)}`);

  for (const [method, path, body] of [
    ['POST', '/v1/mappings/test', (levels: number) => `{"language":"jsonata","source":"$","event":${deepEvent(levels)}}`],
    ['POST', '/v1/destinations', (levels: number) => `{"url":"https://crm.example.com/hooks","event_types":["call_completed"],"headers":${nested(levels, '{}')}}`],
    ['POST', '/v1/accounts', (levels: number) => `{"name":${nested(levels, '"x"')}}`],
  ] as const) {
    test(`${method} ${path}: 400 json_too_deep, naming the limit`, async () => {
      const token = path === '/v1/accounts' ? stack.adminToken : key;
      const r = await stack.call(method, path, { token, raw: body(100_000) });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      assert.equal(r.body.code, 'json_too_deep');
      assert.match(r.body.message, new RegExp(`${MAX_JSON_DEPTH} levels`));
      // Within the limit the body gets past parsing: whatever the route answers then, it is not this.
      const ok = await stack.call(method, path, { token, raw: body(MAX_JSON_DEPTH - 3) });
      assert.notEqual(ok.body?.code, 'json_too_deep', JSON.stringify(ok.body));
    });
  }
});
