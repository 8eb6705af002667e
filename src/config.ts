import { z } from 'zod';
import { oauth2ProvidersEnv } from './connections/providers-config.ts';

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

const cidrList = z
  .string()
  .optional()
  .transform((v) => (v ? v.split(',').map((s) => s.trim()).filter(Boolean) : []));

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  VOICEOI_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
  VOICEOI_DATA_DIR: z.string().default('.data'),
  VOICEOI_ADMIN_TOKEN: z.string().min(16, 'VOICEOI_ADMIN_TOKEN must be at least 16 characters').optional(),
  VOICEOI_MASTER_KEYS: z.string().optional(),
  VOICEOI_BLOCK_PRIVATE_NETWORKS: bool,
  VOICEOI_ALLOWED_NETWORKS: cidrList,
  VOICEOI_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  VOICEOI_TASK_QUEUE: z.string().min(1).default('voiceoi-deliveries'),
  VOICEOI_PUBLIC_URL: z.url().optional(),
  /** Temporal UI origins whose browser may call /codec without a token (src/routes/codec.ts). */
  VOICEOI_CODEC_ORIGINS: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',').map((s) => s.trim().replace(/\/$/, '')).filter(Boolean) : [])),
  /** OAuth2 provider apps for authorization-code connections (src/connections/providers-config.ts). */
  VOICEOI_OAUTH2_PROVIDERS: oauth2ProvidersEnv,
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  TEMPORAL_TLS: bool,
  TEMPORAL_API_KEY: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof envSchema> & { version: string };

export const VERSION = '0.1.0';

/** Validated once at start-up: a wrong variable stops the process with every problem listed. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return { ...parseEnv(envSchema, env, 'configuration'), version: VERSION };
}
