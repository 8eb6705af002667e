import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startApi, type TestApi } from '../support/api.ts';

const ISSUER = 'https://sso.bpo.example/';
const AUDIENCE = 'temporal-ui';
const UI = 'https://temporal.bpo.example';

/** A JWT as an identity provider signs it (RS256 or EdDSA). */
function jwt(key: KeyObject, kid: string, claims: Record<string, unknown>, alg: 'RS256' | 'EdDSA' = 'RS256'): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg, kid, typ: 'JWT' })}.${enc(claims)}`;
  return `${input}.${sign(alg === 'RS256' ? 'sha256' : null, Buffer.from(input), key).toString('base64url')}`;
}

// The production way (docs/guides/debug-a-delivery.md, "In the Temporal UI, decrypted"): a Temporal UI with sign-in passes each
// user's access token to the codec, which checks it against the identity provider's keys.
describe('the codec accepts a signed-in Temporal UI user\'s access token', () => {
  let api: TestApi;
  let jwks: Server;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed = generateKeyPairSync('ed25519');
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (o: Record<string, unknown> = {}) => ({ iss: ISSUER, aud: [AUDIENCE, 'other'], sub: 'ops@bpo.example', exp: now() + 300, ...o });
  const payloads = { payloads: [{ metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from('"hello"').toString('base64') }] };

  before(async () => {
    jwks = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256', use: 'sig' }, { ...ed.publicKey.export({ format: 'jwk' }), kid: 'ed-1' }] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    api = await startApi({
      VOICEOI_CODEC_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks`,
      VOICEOI_CODEC_JWT_ISSUER: ISSUER,
      VOICEOI_CODEC_JWT_AUDIENCE: AUDIENCE,
      VOICEOI_CODEC_ORIGINS: UI,
    });
  });
  after(async () => {
    await api.stop();
    jwks.close();
  });

  const encode = (token: string, headers: Record<string, string> = {}) => api.call('POST', '/codec/encode', { token, body: payloads, headers });

  test('a valid token (RS256 or EdDSA) encodes and decodes, and the UI\'s origin may read the answer', async () => {
    const encoded = await encode(jwt(rsa.privateKey, 'rsa-1', claims()), { origin: UI });
    assert.equal(encoded.status, 200, JSON.stringify(encoded.body));
    assert.equal(encoded.headers.get('access-control-allow-origin'), UI);
    const decoded = await api.call('POST', '/codec/decode', { token: jwt(ed.privateKey, 'ed-1', claims(), 'EdDSA'), body: encoded.body });
    assert.equal(decoded.status, 200, JSON.stringify(decoded.body));
    assert.deepEqual(decoded.body, payloads);

    const preflight = await api.call('OPTIONS', '/codec/decode', { headers: { origin: UI, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), UI);
  });

  test('expired, wrong audience, wrong issuer, another key, a forged or unsigned token: 401 invalid_access_token, saying why', async () => {
    const cases: [string, string, RegExp][] = [
      ['expired', jwt(rsa.privateKey, 'rsa-1', claims({ exp: now() - 3600 })), /expired/],
      ['audience', jwt(rsa.privateKey, 'rsa-1', claims({ aud: 'someone-else' })), /another audience/],
      ['issuer', jwt(rsa.privateKey, 'rsa-1', claims({ iss: 'https://evil.example/' })), /another issuer/],
      ['stranger key', jwt(stranger.privateKey, 'rsa-1', claims()), /signature is not valid/],
      ['unknown kid', jwt(stranger.privateKey, 'nope', claims()), /not signed by a key of the configured provider/],
      ['alg none', `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.x`, /algorithm 'none' is not accepted/],
      ['wrong alg for the key', jwt(ed.privateKey, 'rsa-1', claims(), 'EdDSA'), /not signed by a key/],
    ];
    for (const [what, token, why] of cases) {
      const r = await encode(token);
      assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'invalid_access_token', what);
      assert.match(r.body.message, why, what);
    }
  });

  test('the admin token still works; an account key is still refused', async () => {
    assert.equal((await encode(api.adminToken)).status, 200);
    const account = await api.createAccount();
    assert.equal((await encode(account.api_key)).status, 403);
  });
});
