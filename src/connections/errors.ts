/**
 * Why a connection could not produce credentials. attempt.ts records `code` and `message` on the
 * attempt (so they reach the audit log: never put a secret in them) and stops retrying the delivery
 * when `retryable` is false.
 */
export class CredentialError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'CredentialError';
  }
}

/** Replaces every occurrence of a known secret in text that came from elsewhere (an error body). */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
