import { randomBytes } from 'node:crypto';

const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Prefixed random ids (`dst_…`): the prefix tells an engineer reading a log what the id names. */
/** The random part of an id: a prefix plus this many characters. */
export const ID_RANDOM_LENGTH = 20;

export function newId(prefix: string, length = ID_RANDOM_LENGTH): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return `${prefix}_${out}`;
}

export const nowIso = (): string => new Date().toISOString();
