import { z } from 'zod';
import { HEADER_NAME, HEADER_VALUE, isReservedHeader, MAX_HEADER_NAME, MAX_HEADER_VALUE } from '../../sandboxes/reserved-headers.ts';
import { changesSomething, displayName, httpUrl } from './common.schema.ts';

// Validation messages never quote the value they reject: the values here are secrets.

const name = displayName;

const secretText = (max: number) =>
  z.string().min(1).max(max).regex(HEADER_VALUE, 'must not contain control characters such as CR or LF');

// Names are checked here rather than as record keys so that each problem gets its own message.
const headerSet = z.record(z.string(), secretText(MAX_HEADER_VALUE)).superRefine((headers, ctx) => {
  const names = Object.keys(headers);
  if (names.length < 1 || names.length > 20) ctx.addIssue({ code: 'custom', message: 'give 1 to 20 headers' });
  const seen = new Set<string>();
  for (const n of names) {
    if (n.length > MAX_HEADER_NAME || !HEADER_NAME.test(n)) {
      ctx.addIssue({ code: 'custom', path: [n], message: `is not a header name (1-${MAX_HEADER_NAME} letters, digits and !#$%&'*+.^_\`|~-)` });
    } else if (isReservedHeader(n)) {
      ctx.addIssue({ code: 'custom', path: [n], message: 'is reserved: set by VoiceOI on every delivery, or a claim about the caller (Origin, Cookie, Host, Forwarded, X-Forwarded-*), so it cannot come from a connection' });
    }
    if (seen.has(n.toLowerCase())) ctx.addIssue({ code: 'custom', path: [n], message: 'appears twice (header names are case-insensitive)' });
    seen.add(n.toLowerCase());
  }
});

const username = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x20-\x7E\x80-\xFF]*$/, 'must not contain control characters')
  .refine((u) => !u.includes(':'), { message: 'must not contain ":" (RFC 7617)' });

const tokenUrl = httpUrl.refine((u) => !new URL(u).username && !new URL(u).password && !new URL(u).hash, { message: 'must not carry credentials or a #fragment' });

// RFC 6749 scope: space-separated tokens of visible ASCII except " and \.
const scope = z.string().trim().min(1).max(1000).regex(/^[\x21\x23-\x5B\x5D-\x7E]+( [\x21\x23-\x5B\x5D-\x7E]+)*$/, 'must be space-separated OAuth2 scope tokens');
const audience = z.string().trim().min(1).max(1000);
const authMethod = z.enum(['client_secret_basic', 'client_secret_post']);

const PEM_MAX = 64 * 1024;
const pem = (what: string) => z.string().min(1).max(PEM_MAX).describe(what);
// Checked further (parsed, expiry, key against certificate) by src/connections/tls.ts.
const tlsBody = z
  .strictObject({
    ca_certificates: pem('PEM certificates trusted for this connection only, in addition to the system\'s CAs').optional(),
    client_certificate: pem('PEM client certificate (then its chain) presented for mutual TLS; needs client_key').optional(),
    client_key: pem('PEM private key of client_certificate (unencrypted; encrypted at rest here)').optional(),
  })
  .describe('TLS of this connection\'s requests (deliveries and OAuth2 token requests); write-only. In a PATCH it replaces the whole TLS setting; null removes it.');

const kindFields = {
  headers: { headers: headerSet },
  basic: { username, password: secretText(1024) },
  oauth2_client_credentials: {
    token_url: tokenUrl,
    client_id: z.string().min(1).max(512).regex(HEADER_VALUE, 'must not contain control characters'),
    client_secret: secretText(4096),
    scope: scope.nullable().optional(),
    audience: audience.nullable().optional(),
    auth_method: authMethod.default('client_secret_basic'),
  },
  oauth2_authorization_code: {
    provider: z.string().min(1).max(40),
    scope: scope.nullable().optional(),
  },
} as const;

export const createConnectionBody = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('headers'), name, tls: tlsBody.optional(), ...kindFields.headers }),
  z.strictObject({ kind: z.literal('basic'), name, tls: tlsBody.optional(), ...kindFields.basic }),
  z.strictObject({ kind: z.literal('oauth2_client_credentials'), name, tls: tlsBody.optional(), ...kindFields.oauth2_client_credentials }),
  z.strictObject({ kind: z.literal('oauth2_authorization_code'), name, tls: tlsBody.optional(), ...kindFields.oauth2_authorization_code }),
]);

/** PATCH bodies are checked against the stored connection's kind (a kind cannot change). */
export const patchSchemas = {
  headers: z.strictObject({ kind: z.literal('headers').optional(), name: name.optional(), tls: tlsBody.nullable(), ...kindFields.headers }).partial(),
  basic: z.strictObject({ kind: z.literal('basic').optional(), name: name.optional(), tls: tlsBody.nullable(), ...kindFields.basic }).partial(),
  oauth2_client_credentials: z
    .strictObject({
      kind: z.literal('oauth2_client_credentials').optional(),
      name: name.optional(),
      tls: tlsBody.nullable(),
      ...kindFields.oauth2_client_credentials,
      auth_method: authMethod,
    })
    .partial(),
  oauth2_authorization_code: z
    .strictObject({ kind: z.literal('oauth2_authorization_code').optional(), name: name.optional(), tls: tlsBody.nullable(), ...kindFields.oauth2_authorization_code })
    .partial(),
};

/**
 * What the route validates: a change of some kind, strict (an unknown field is refused here, whatever
 * the kind); the handler then checks it against the stored connection's own kind.
 */
export const patchConnectionBody = changesSomething(
  z
    .union([patchSchemas.headers, patchSchemas.basic, patchSchemas.oauth2_client_credentials, patchSchemas.oauth2_authorization_code])
    .describe('Any create field of the connection\'s kind except kind; a secret field replaces the stored secret (headers: the whole set)'),
);

const lastError = z.object({ code: z.string(), message: z.string(), at: z.string() }).nullable();
const certificateInfo = z.object({ subject: z.string(), issuer: z.string(), not_after: z.string(), fingerprint: z.string().describe('SHA-256 of the certificate (hex)') });
const tlsView = z
  .object({ ca_certificates: z.array(certificateInfo), client_certificate: certificateInfo.nullable(), client_key_set: z.boolean() })
  .nullable()
  .describe('What is set of the connection\'s TLS, never the PEM; null: the system\'s CAs and no client certificate.');
const common = {
  id: z.string(),
  name: z.string(),
  status: z.enum(['connected', 'needs_reauth', 'error']),
  last_error: lastError,
  tls: tlsView,
  created_at: z.string(),
  updated_at: z.string(),
};

export const connectionView = z.discriminatedUnion('kind', [
  z.object({ ...common, kind: z.literal('headers'), header_names: z.array(z.string()) }),
  z.object({ ...common, kind: z.literal('basic'), username: z.string() }),
  z.object({
    ...common,
    kind: z.literal('oauth2_client_credentials'),
    token_url: z.string(),
    client_id: z.string(),
    scope: z.string().nullable(),
    audience: z.string().nullable(),
    auth_method: authMethod,
  }),
  z.object({
    ...common,
    kind: z.literal('oauth2_authorization_code'),
    provider: z.string(),
    scope: z.string().nullable(),
    authorized_at: z.string().nullable().describe('When the authorization completed: the provider\'s tokens were stored (RFC 3339)'),
    token_expires_at: z.string().nullable().describe('When the current access token expires, counted from when it was requested (so never later than the provider\'s own expiry); refreshed before then'),
    /** Where to send the user to (re-)authorize. */
    authorize_path: z.string(),
  }),
]);
export type ConnectionView = z.infer<typeof connectionView>;

export const startJson = z.object({ authorize_url: z.string(), expires_at: z.string() });

export const callbackQuery = z.looseObject({
  state: z.string().max(512).optional(),
  code: z.string().max(4096).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});
export const callbackResult = z.object({ connection_id: z.string(), status: z.literal('connected'), authorized_at: z.string().nullable(), message: z.string() });
