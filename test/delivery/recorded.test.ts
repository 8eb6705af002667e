import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boundHeaders, boundRecord, clip, excerpt, jsonSize, RECORDED_LIMITS, TRUNCATED_HEADERS_KEY } from '../../src/delivery/recorded.ts';

const escaped = (s: string) => Buffer.byteLength(JSON.stringify(s)) - 2;

describe('what an attempt records is bounded as JSON, after escaping', () => {
  test('jsonSize is the size JSON.stringify writes, for control characters, quotes, multi-byte text and lone surrogates', () => {
    for (const s of ['', 'plain', '\u0001\u001f', '"\\\n\t\r\b\f', 'é€😀', '\ud800x', 'x\udc00', '\u2028\u007f', 'ok😀\ud83d']) {
      assert.equal(jsonSize(s), escaped(s), JSON.stringify(s));
    }
  });

  test('64 KiB of control characters is cut to the body limit once escaped, not to 64 KiB of raw bytes', () => {
    const body = '\u0001'.repeat(64 * 1024);
    const cut = excerpt(body);
    assert.equal(cut.truncated, true);
    assert.ok(escaped(cut.body) <= RECORDED_LIMITS.body);
    assert.ok(escaped(cut.body) > RECORDED_LIMITS.body - 6, 'it keeps as much as fits');
    assert.deepEqual(excerpt('{"ok":true}'), { body: '{"ok":true}', truncated: false });
  });

  test('a cut never splits a surrogate pair', () => {
    const cut = clip('a😀', 3);
    assert.deepEqual(cut, { text: 'a', truncated: true });
  });

  test('headers: a value past the limit is cut, the headers after it are counted, and the whole map fits', () => {
    const headers = boundHeaders({ a: '1', big: '\u0001'.repeat(10_000), after: '2', later: '3' });
    assert.equal(headers.a, '1');
    assert.equal(headers.after, undefined);
    assert.match(headers[TRUNCATED_HEADERS_KEY]!, /value of big was cut; 2 more headers not recorded/);
    assert.ok(Buffer.byteLength(JSON.stringify(headers)) <= RECORDED_LIMITS.headers);
  });

  test('boundRecord bounds the url, request headers and error message a mapping or a receiver can make large', () => {
    const record = boundRecord({
      n: 1,
      started_at: '2026-12-01T00:00:00.000Z',
      duration_ms: 1,
      verdict: 'retry',
      request: { method: 'POST', url: `https://example.com/?q=${'%01'.repeat(10_000)}`, headers: { 'x-many': 'v'.repeat(20_000) }, body: '\u0002'.repeat(40_000), body_bytes: 40_000, body_truncated: false },
      error: { code: 'network_error', message: '\u0003'.repeat(10_000) },
    });
    assert.ok(Buffer.byteLength(JSON.stringify(record.request!.url)) <= RECORDED_LIMITS.url + 2);
    assert.ok(Buffer.byteLength(JSON.stringify(record.request!.headers)) <= RECORDED_LIMITS.headers);
    assert.ok(escaped(record.request!.body) <= RECORDED_LIMITS.body);
    assert.equal(record.request!.body_truncated, true);
    assert.ok(escaped(record.error!.message) <= RECORDED_LIMITS.errorMessage);
    assert.ok(Buffer.byteLength(JSON.stringify(record)) <= 64 * 1024);
  });
});
