import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errors as undiciErrors } from 'undici';
import type { RecordedResponse } from '../../workflows/types.ts';
import { classify, classifyCredentialsError } from '../../src/delivery/classify.ts';
import { RefusedAddressError } from '../../src/delivery/http-client.ts';
import { MAX_RETRY_AFTER_MS } from '../../workflows/retry-schedule.ts';

// DESIGN.md "Delivery semantics", as a table: classify is pure (response or thrown error → verdict).
const now = Date.parse('2026-11-27T10:00:00Z');
const answered = (status: number, headers: Record<string, string> = {}) => {
  const response: RecordedResponse = { status, headers, body: '', body_truncated: false };
  return classify({ response }, now);
};

describe('classify turns what a sent request came to into a verdict', () => {
  test('2xx is delivered; other 4xx fail for good; 410 is gone', () => {
    for (const status of [200, 201, 204, 299]) assert.deepEqual(answered(status), { verdict: 'delivered', retry_after_ms: undefined, error: undefined }, String(status));
    for (const status of [400, 401, 403, 404, 409, 413, 422]) assert.equal(answered(status).verdict, 'failed', String(status));
    assert.equal(answered(410).verdict, 'gone');
    assert.equal(answered(410, { 'retry-after': '5' }).retry_after_ms, undefined, 'only a retried answer owes a wait');
  });

  test('408, 425, 429 and 5xx are retried, honouring Retry-After as seconds or an HTTP date, bounded', () => {
    for (const status of [408, 425, 429, 500, 502, 503, 504, 599]) assert.equal(answered(status).verdict, 'retry', String(status));
    assert.equal(answered(503).retry_after_ms, undefined);
    assert.equal(answered(429, { 'retry-after': '120' }).retry_after_ms, 120_000);
    assert.equal(answered(503, { 'retry-after': 'Fri, 27 Nov 2026 10:00:30 GMT' }).retry_after_ms, 30_000);
    assert.equal(answered(503, { 'retry-after': 'Fri, 27 Nov 2026 09:00:00 GMT' }).retry_after_ms, 0, 'a date in the past: no extra wait');
    assert.equal(answered(429, { 'retry-after': String(365 * 86_400) }).retry_after_ms, MAX_RETRY_AFTER_MS);
    assert.equal(answered(503, { 'retry-after': 'soon' }).retry_after_ms, undefined);
    assert.equal(answered(400, { 'retry-after': '10' }).retry_after_ms, undefined, 'a failed answer is not retried');
  });

  test('a redirect is not followed: it fails and says to set the final URL', () => {
    for (const status of [301, 302, 307, 308]) {
      const c = answered(status);
      assert.equal(c.verdict, 'failed', String(status));
      assert.equal(c.error?.code, 'redirect_not_followed');
      assert.match(c.error!.message, new RegExp(`^HTTP ${status}: .*set the final URL`));
    }
  });

  test('a timeout, on the headers, the body or the whole attempt, is retried as timeout', () => {
    for (const err of [new undiciErrors.HeadersTimeoutError(), new undiciErrors.BodyTimeoutError(), /* AbortSignal.timeout's reason */ new DOMException('The operation timed out.', 'TimeoutError')]) {
      assert.deepEqual(classify({ error: err }), { verdict: 'retry', error: { code: 'timeout', message: 'the destination did not answer within the timeout' } });
    }
  });

  test('a refused address fails for good, also when undici wraps it as the cause', () => {
    const refused = new RefusedAddressError('internal.example resolves to 10.0.0.7, a private address');
    assert.deepEqual(classify({ error: refused }), { verdict: 'failed', error: { code: 'address_refused', message: refused.message } });
    assert.deepEqual(classify({ error: new TypeError('fetch failed', { cause: refused }) }), { verdict: 'failed', error: { code: 'address_refused', message: refused.message } });
  });

  test('other network errors are retried under network_<code>', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    assert.deepEqual(classify({ error: refused }), { verdict: 'retry', error: { code: 'network_econnrefused', message: 'connect ECONNREFUSED 127.0.0.1:9' } });
    const socket = new undiciErrors.SocketError('other side closed');
    assert.deepEqual(classify({ error: socket }), { verdict: 'retry', error: { code: 'network_und_err_socket', message: 'other side closed' } });
    const wrapped = new Error('request failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) });
    assert.equal(classify({ error: wrapped }).error?.code, 'network_enotfound');
    assert.deepEqual(classify({ error: new Error('boom') }), { verdict: 'retry', error: { code: 'network_error', message: 'boom' } });
  });

  test("a connection's credentials failure is retried unless the provider says retrying cannot help", () => {
    assert.deepEqual(classifyCredentialsError(Object.assign(new Error('token endpoint answered 503'), { code: 'oauth2_token_unavailable' })), {
      verdict: 'retry',
      error: { code: 'oauth2_token_unavailable', message: 'token endpoint answered 503' },
    });
    assert.deepEqual(classifyCredentialsError(Object.assign(new Error('the refresh token was refused'), { code: 'oauth2_needs_reauth', retryable: false })), {
      verdict: 'failed',
      error: { code: 'oauth2_needs_reauth', message: 'the refresh token was refused' },
    });
    assert.equal(classifyCredentialsError(new Error('x')).error?.code, 'credentials_error');
  });
});
