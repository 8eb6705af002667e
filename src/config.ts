import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { oauth2ProvidersEnv } from './connections/providers-config.ts';
import { refineCidrs } from './delivery/network-policy.ts';
import { isPostgresUrl } from './store/postgres.ts';

/** A boolean environment variable: true/1, false/0; unset or empty gives `fallback`. */
export const envFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : v === 'true' || v === '1'));

const bool = envFlag(false);

/** Parses environment variables against a schema, failing with every wrong variable named. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv, what: string): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid ${what}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** A comma-separated list: its entries trimmed, empty ones dropped; unset or empty gives none. */
const commaList = z
  .string()
  .optional()
  .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []));

const cidrList = commaList.superRefine(refineCidrs);

// Private networks are refused by default now: `true` asks for what already holds; `false` asked for
// every private network to be open, which nothing does any more, so it stops the start rather than
// leave deliveries failing without a word.
const retiredBlockPrivate = z
  .string()
  .optional()
  .refine((v) => v === undefined || ['', 'true', '1'].includes(v), {
    message:
      'is gone: private and loopback networks are refused by default; open the ones your destinations use with VOICEOI_ALLOWED_NETWORKS (e.g. 10.20.0.0/16) or per account (PATCH /v1/accounts/:id {"allowed_networks": [...]}), and remove this variable',
  });

/** Proxies whose X-Forwarded-* headers are believed: addresses, CIDRs, or proxy-addr's names (loopback, …). */
const trustedProxies = commaList.superRefine((list, ctx) => {
  for (const p of list) {
    if (isIP(p) || ['loopback', 'linklocal', 'uniquelocal'].includes(p)) continue;
    try {
      ipaddr.parseCIDR(p);
    } catch {
      ctx.addIssue({ code: 'custom', message: `'${p}' is not an IP address or CIDR (e.g. 10.0.0.5, 10.0.0.0/24, loopback)` });
    }
  }
});

const port = z.coerce.number().int().min(1).max(65535);

/** The dev server's HTTP API and UI ports beside its gRPC port, as the Temporal CLI places them. */
export const TEMPORAL_HTTP_PORT_OFFSET = 10;
export const TEMPORAL_UI_PORT_OFFSET = 1000;

/** Every variable the server reads (docs/operations/configuration.md documents each: test/docs/configuration.test.ts). */
export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  VOICEOI_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  VOICEOI_DATA_DIR: z.string().default('.data'),
  /** Unset: SQLite under the data directory. Set: the shared PostgreSQL control plane of every replica. */
  DATABASE_URL: z
    .string()
    .optional()
    .transform((v) => v || undefined)
    .refine((v) => v === undefined || (isPostgresUrl(v) && URL.canParse(v)), {
      message: 'must be a postgres:// or postgresql:// URL (e.g. postgres://voiceoi:password@db.internal:5432/voiceoi)',
    }),
  /** Connections to PostgreSQL each process keeps open at most. */
  VOICEOI_DATABASE_POOL: z.coerce.number().int().min(1).max(1000).default(10),
  VOICEOI_ADMIN_TOKEN: z.string().min(16, 'VOICEOI_ADMIN_TOKEN must be at least 16 characters').optional(),
  VOICEOI_MASTER_KEYS: z.string().optional(),
  VOICEOI_BLOCK_PRIVATE_NETWORKS: retiredBlockPrivate,
  VOICEOI_ALLOWED_NETWORKS: cidrList,
  VOICEOI_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Days a call's data stays readable before its key is shredded, for accounts without their own data_retention_days. */
  VOICEOI_DATA_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  VOICEOI_TASK_QUEUE: z.string().min(1).default('voiceoi-deliveries'),
  /** One account's attempts in flight at once across all its destinations and workers (docs/concepts/delivery-controls.md, "Attempts in flight"). */
  VOICEOI_ACCOUNT_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(100_000).default(50),
  VOICEOI_PUBLIC_URL: z.url().optional(),
  /** Temporal UI origins whose browser may call /codec without a token (src/routes/codec.ts). */
  VOICEOI_CODEC_ORIGINS: commaList.transform((list) => list.map((o) => o.replace(/\/$/, '')).filter(Boolean)),
  /**
   * A Temporal UI with sign-in passes each user's access token to the codec (`codec.passAccessToken`):
   * the codec accepts tokens signed by a key of this JWKS, with this issuer and audience
   * (src/temporal/ui-access-token.ts). All three or none.
   */
  VOICEOI_CODEC_JWKS_URL: z.url().optional(),
  VOICEOI_CODEC_JWT_ISSUER: z.string().min(1).optional(),
  VOICEOI_CODEC_JWT_AUDIENCE: z.string().min(1).optional(),
  /** Unset: no proxy is trusted, and X-Forwarded-* headers are ignored (they steer redirect URIs and client IPs). */
  VOICEOI_TRUSTED_PROXIES: trustedProxies,
  /** Failed API-key attempts one client address may make per window before 429 (src/auth-rate-limit.ts). */
  VOICEOI_AUTH_FAILURES_MAX: z.coerce.number().int().min(1).max(100_000).default(10),
  VOICEOI_AUTH_FAILURES_WINDOW_S: z.coerce.number().int().min(1).max(86_400).default(60),
  /**
   * Per-account ingest quota (src/ingest-quota.ts): events per second, and how many may come at once
   * above that pace. 0 turns the install-wide quota off; an admin sets an account's own with
   * PATCH /v1/accounts/:id {ingest_quota}. The burst holds a whole batch (100 events) at least.
   */
  VOICEOI_INGEST_RATE_PER_S: z.coerce.number().int().min(0).max(1_000_000).default(100),
  VOICEOI_INGEST_BURST: z.coerce.number().int().min(100).max(10_000_000).default(1_000),
  /** Runs of one account waiting or running in the transform sandbox before its next answers "busy". */
  VOICEOI_SANDBOX_QUEUE_PER_ACCOUNT: z.coerce.number().int().min(1).max(100_000).default(200),
  /** What one account may make the platform hold or do per request (src/tenant-limits.ts, docs/operations/isolation-and-quotas.md, "Bounds per account"). */
  VOICEOI_MAX_DESTINATIONS: z.coerce.number().int().min(1).max(1_000_000).default(200),
  VOICEOI_MAX_FANOUT: z.coerce.number().int().min(1).max(10_000).default(25),
  VOICEOI_MAX_MAPPINGS: z.coerce.number().int().min(1).max(1_000_000).default(200),
  VOICEOI_MAX_MAPPING_VERSIONS: z.coerce.number().int().min(1).max(1_000_000).default(200),
  VOICEOI_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /** OAuth2 provider apps for authorization-code connections (src/connections/providers-config.ts). */
  VOICEOI_OAUTH2_PROVIDERS: oauth2ProvidersEnv,
  /** Console sessions (src/sessions.ts): end after this many idle seconds, and this long after sign-in at most. */
  VOICEOI_SESSION_IDLE_S: z.coerce.number().int().min(1).max(86_400).default(1800),
  VOICEOI_SESSION_MAX_S: z.coerce.number().int().min(1).max(30 * 86_400).default(43_200),
  /** The built console served at /console (src/routes/console.ts); unset: console/dist of this checkout. */
  VOICEOI_CONSOLE_DIR: z.string().min(1).optional(),
  /** Pull destinations (src/routes/streams.ts): live streams one account may hold open at once, on all API replicas together. */
  VOICEOI_STREAMS_PER_ACCOUNT: z.coerce.number().int().min(1).max(100_000).default(100),
  /** Seconds between a live stream's heartbeat comments (they keep proxies from closing an idle stream). */
  VOICEOI_STREAM_HEARTBEAT_S: z.coerce.number().min(0.1).max(300).default(15),
  /** How long a pull destination's messages are kept when its account sets no retention of its own. */
  VOICEOI_STREAM_RETENTION_HOURS: z.coerce.number().int().min(1).max(24 * 365).default(72),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  /**
   * The ports of the dev server `npm start` runs when TEMPORAL_ADDRESS is unset (its gRPC frontend,
   * which the other roles then reach too), so a second instance can run beside the first. The HTTP
   * API and the UI follow it (7233 → 7243 and 8233, the CLI's own offsets) unless set.
   */
  TEMPORAL_PORT: port.default(7233),
  TEMPORAL_HTTP_PORT: port.optional(),
  TEMPORAL_UI_PORT: port.optional(),
  /**
   * The dev server's SQLite `synchronous` pragma beside WAL (src/temporal/dev-server.ts). full: every
   * commit is on disk before it is answered. normal: a commit survives a crash of the process but the
   * last ones may be lost on a power cut or OS crash (the database stays consistent); fewer fsyncs.
   */
  VOICEOI_DEV_SERVER_SYNCHRONOUS: z.enum(['full', 'normal']).default('full'),
  TEMPORAL_TLS: bool,
  TEMPORAL_API_KEY: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/**
 * With DATABASE_URL every replica must share what a single install would generate into its data
 * directory (src/crypto/keyring.ts, src/admin-token.ts): a replica that made its own could not read
 * the others' secrets, nor accept their admin. It refuses to start instead.
 */
const sharedAcrossReplicas = envSchema.superRefine((c, ctx) => {
  const codecJwt = [c.VOICEOI_CODEC_JWKS_URL, c.VOICEOI_CODEC_JWT_ISSUER, c.VOICEOI_CODEC_JWT_AUDIENCE];
  if (codecJwt.some(Boolean) && !codecJwt.every(Boolean))
    ctx.addIssue({
      code: 'custom',
      path: ['VOICEOI_CODEC_JWKS_URL'],
      message: 'VOICEOI_CODEC_JWKS_URL, VOICEOI_CODEC_JWT_ISSUER and VOICEOI_CODEC_JWT_AUDIENCE go together: set all three to accept the Temporal UI\'s access tokens, or none',
    });
  for (const [name, offset] of [['TEMPORAL_HTTP_PORT', TEMPORAL_HTTP_PORT_OFFSET], ['TEMPORAL_UI_PORT', TEMPORAL_UI_PORT_OFFSET]] as const) {
    if (c[name] === undefined && c.TEMPORAL_PORT + offset > 65535)
      ctx.addIssue({ code: 'custom', path: [name], message: `is TEMPORAL_PORT + ${offset} unless set, which is above 65535 for TEMPORAL_PORT=${c.TEMPORAL_PORT}: set ${name}, or a lower TEMPORAL_PORT` });
  }
  if (!c.DATABASE_URL) return;
  if (!c.VOICEOI_MASTER_KEYS)
    ctx.addIssue({
      code: 'custom',
      path: ['VOICEOI_MASTER_KEYS'],
      message: 'is required with DATABASE_URL: every replica encrypts and decrypts with the same keys (generate one with: echo "k1:$(openssl rand -base64 32)")',
    });
  if (!c.VOICEOI_ADMIN_TOKEN && c.VOICEOI_ROLE !== 'worker')
    ctx.addIssue({
      code: 'custom',
      path: ['VOICEOI_ADMIN_TOKEN'],
      message: 'is required with DATABASE_URL: every API replica accepts the same admin token (at least 16 characters, e.g. openssl rand -base64 24)',
    });
});

type Derived = 'TEMPORAL_HTTP_PORT' | 'TEMPORAL_UI_PORT';
export type Config = Omit<z.infer<typeof envSchema>, Derived> & Record<Derived, number> & { version: string };

export const VERSION = '0.1.0';

/** Validated once at start-up: a wrong variable stops the process with every problem listed. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const c = parseEnv(sharedAcrossReplicas, env, 'configuration');
  return {
    ...c,
    TEMPORAL_HTTP_PORT: c.TEMPORAL_HTTP_PORT ?? c.TEMPORAL_PORT + TEMPORAL_HTTP_PORT_OFFSET,
    TEMPORAL_UI_PORT: c.TEMPORAL_UI_PORT ?? c.TEMPORAL_PORT + TEMPORAL_UI_PORT_OFFSET,
    version: VERSION,
  };
}
