import { constants, createPublicKey, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { fetch } from 'undici';

// A Temporal UI with sign-in (auth enabled, `codec.passAccessToken: true`) sends each signed-in
// user's access token to the codec as `Authorization: Bearer <jwt>`. The codec accepts it when the
// operator's identity provider signed it for this codec: a key of the provider's JWKS, its issuer,
// the configured audience, and not expired. Then reaching the UI is not enough to read history: the
// user must have signed in to the provider, which decides who may.

export interface UiAccessTokenConfig {
  jwksUrl: string;
  issuer: string;
  audience: string;
}

/** Why a token was refused; never the token itself. */
export class AccessTokenError extends Error {}

type Jwk = JsonWebKey & { kid?: string; alg?: string; use?: string };

/** The signature algorithms accepted, as node:crypto verifies them. */
const ALGORITHMS: Record<string, (key: KeyObject) => { digest: string | null; key: KeyObject | { key: KeyObject; dsaEncoding?: 'ieee-p1363'; padding?: number; saltLength?: number } }> = {
  RS256: (key) => ({ digest: 'sha256', key }),
  RS384: (key) => ({ digest: 'sha384', key }),
  RS512: (key) => ({ digest: 'sha512', key }),
  PS256: (key) => ({ digest: 'sha256', key: { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } }),
  ES256: (key) => ({ digest: 'sha256', key: { key, dsaEncoding: 'ieee-p1363' } }),
  ES384: (key) => ({ digest: 'sha384', key: { key, dsaEncoding: 'ieee-p1363' } }),
  EdDSA: (key) => ({ digest: null, key }),
};

/** Clock difference tolerated between the provider and this host. */
const LEEWAY_S = 60;
/** Keys are fetched again after this long, or at once (at most every 30 s) for a key id not seen yet. */
const JWKS_TTL_MS = 10 * 60_000;
const JWKS_REFRESH_MIN_MS = 30_000;

const part = (s: string | undefined, what: string): Record<string, unknown> => {
  try {
    const v = JSON.parse(Buffer.from(s ?? '', 'base64url').toString('utf8')) as unknown;
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new AccessTokenError(`the access token's ${what} is not a JSON object`);
};

export function createUiAccessTokenVerifier(config: UiAccessTokenConfig): { verify(token: string): Promise<Record<string, unknown>> } {
  let keys: Jwk[] = [];
  let fetchedAt = 0;
  const load = async () => {
    const res = await fetch(config.jwksUrl, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`The access-token keys (${config.jwksUrl}) answered ${res.status}`);
    const body = (await res.json()) as { keys?: unknown };
    if (!Array.isArray(body.keys)) throw new Error(`The access-token keys (${config.jwksUrl}) are not a JWKS ({"keys": [...]})`);
    keys = body.keys as Jwk[];
    fetchedAt = Date.now();
  };
  const keyFor = async (kid: string | undefined): Promise<Jwk | undefined> => {
    const find = () => keys.find((k) => (kid === undefined ? keys.length === 1 : k.kid === kid) && k.use !== 'enc');
    if (Date.now() - fetchedAt > JWKS_TTL_MS || (!find() && Date.now() - fetchedAt > JWKS_REFRESH_MIN_MS)) await load();
    return find();
  };

  return {
    async verify(token) {
      const [h, p, s, extra] = token.split('.');
      if (!h || !p || !s || extra !== undefined) throw new AccessTokenError('the access token is not a signed JWT');
      const header = part(h, 'header');
      const alg = typeof header.alg === 'string' ? header.alg : '';
      const algorithm = ALGORITHMS[alg];
      if (!algorithm) throw new AccessTokenError(`the access token's algorithm '${alg.slice(0, 20)}' is not accepted`);
      const jwk = await keyFor(typeof header.kid === 'string' ? header.kid : undefined);
      if (!jwk || (jwk.alg !== undefined && jwk.alg !== alg)) throw new AccessTokenError('the access token was not signed by a key of the configured provider');
      const { digest, key } = algorithm(createPublicKey({ key: jwk, format: 'jwk' }));
      if (!verify(digest, Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) throw new AccessTokenError('the access token\'s signature is not valid');

      const claims = part(p, 'payload');
      const now = Date.now() / 1000;
      if (claims.iss !== config.issuer) throw new AccessTokenError('the access token was issued by another issuer');
      const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
      if (!aud.includes(config.audience)) throw new AccessTokenError('the access token is meant for another audience');
      if (typeof claims.exp !== 'number' || claims.exp + LEEWAY_S < now) throw new AccessTokenError('the access token has expired');
      if (typeof claims.nbf === 'number' && claims.nbf - LEEWAY_S > now) throw new AccessTokenError('the access token is not valid yet');
      return claims;
    },
  };
}
