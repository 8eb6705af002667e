import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** VOICEOI_ADMIN_TOKEN, or one generated on first start and kept (0600) under the data dir. */
export function resolveAdminToken(configured: string | undefined, dataDir: string): { token: string; generated: boolean; file?: string } {
  if (configured) return { token: configured, generated: false };
  const file = join(dataDir, 'admin-token');
  try {
    return { token: readFileSync(file, 'utf8').trim(), generated: false, file };
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const token = `vadm_${randomBytes(24).toString('base64url')}`;
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, generated: true, file };
  }
}
