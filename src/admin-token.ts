import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The install's value in `<dataDir>/<name>`, made by `make` and kept (0600) on first start. Processes
 * of one install share the data dir (the database is there too), so they all read the same value;
 * of two starting at once, the one that loses the race reads the winner's.
 */
function readOrCreate(dataDir: string, name: string, make: () => string): { value: string; generated: boolean; file: string } {
  const file = join(dataDir, name);
  try {
    return { value: readFileSync(file, 'utf8').trim(), generated: false, file };
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const value = make();
    try {
      writeFileSync(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      return { value: readFileSync(file, 'utf8').trim(), generated: false, file };
    }
    return { value, generated: true, file };
  }
}

/** VOICEOI_ADMIN_TOKEN, or one generated on first start and kept (0600) under the data dir. */
export function resolveAdminToken(configured: string | undefined, dataDir: string): { token: string; generated: boolean; file?: string } {
  if (configured) return { token: configured, generated: false };
  const { value, generated, file } = readOrCreate(dataDir, 'admin-token', () => `vadm_${randomBytes(24).toString('base64url')}`);
  return { token: value, generated, file };
}

/**
 * The secret path segment of the Temporal UI's codec URL, `<api>/codec/<secret>` (src/routes/codec.ts):
 * the UI's only credential, since it calls the codec from the browser and cannot send a token. It is
 * generated once per install into `<dataDir>/codec-ui-secret` and known only to the UI's
 * configuration; never log it, nor a URL that holds it.
 */
export function resolveCodecUiSecret(dataDir: string): string {
  return readOrCreate(dataDir, 'codec-ui-secret', () => randomBytes(32).toString('base64url')).value;
}

/** The codec endpoint a Temporal UI is configured with: the API's base URL plus the secret path. */
export const codecUiEndpoint = (apiBase: string, secret: string): string => `${apiBase.replace(/\/$/, '')}/codec/${secret}`;

/**
 * The codec UI secret this process uses. With DATABASE_URL (replicas) it is derived from the admin
 * token every API replica is given, so all of them accept the same UI URL and nothing is generated
 * per host; rotating the admin token changes it too. Without, the install's own file (above).
 */
export function codecUiSecretFor(config: { DATABASE_URL?: string; VOICEOI_ADMIN_TOKEN?: string; VOICEOI_DATA_DIR: string }): string {
  if (!config.DATABASE_URL) return resolveCodecUiSecret(config.VOICEOI_DATA_DIR);
  if (!config.VOICEOI_ADMIN_TOKEN) throw new Error('VOICEOI_ADMIN_TOKEN is required with DATABASE_URL (the codec UI secret is derived from it)');
  return createHmac('sha256', config.VOICEOI_ADMIN_TOKEN).update('voiceoi-hooks codec-ui-secret').digest('base64url');
}
