import { createHmac } from 'node:crypto';

const PREFIX = 'whsec_';

/** Standard Webhooks: one `v1,<base64 HMAC-SHA256("id.timestamp.body")>` per secret, space-separated. */
export function signWebhook(secrets: readonly string[], id: string, timestampS: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
      return `v1,${createHmac('sha256', key).update(`${id}.${timestampS}.${body}`).digest('base64')}`;
    })
    .join(' ');
}
