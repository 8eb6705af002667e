import type { PermitRequest } from './types.ts';

// The rate limiter's waiting requests as it carries them into its next run. The carried input is one
// payload under Temporal's 2 MB limit, so a waiter costs its ids only, in their shortest reversible
// form: the delivery ids all start alike (`delivery:<destination>:`, often more), so that common
// prefix is written once; the key's run id (a UUID) is 22 base64url characters instead of 36; and the
// rate, the same for all of them, is not repeated. Pure code: the limiter runs it in its workflow.

/** The waiting list, oldest first: `entries[i]` is `<key> <delivery id without prefix>`. */
export interface CarriedWaiting {
  prefix: string;
  entries: string[];
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})(\/.*)$/;
/** Marks a key whose run id is packed; a key as the deliveries make it starts with a hex digit. */
const PACKED = '~';

/** `<uuid>/<n>` → `~<22 chars>/<n>`; any other key unchanged. */
export function packKey(key: string): string {
  const m = UUID.exec(key);
  if (!m) return key;
  const hex = m.slice(1, 6).join('');
  let bits = '';
  for (const c of hex) bits += parseInt(c, 16).toString(2).padStart(4, '0');
  bits += '0000';
  let out = '';
  for (let i = 0; i < bits.length; i += 6) out += B64[parseInt(bits.slice(i, i + 6), 2)];
  return PACKED + out + m[6];
}

export function unpackKey(key: string): string {
  if (!key.startsWith(PACKED)) return key;
  const slash = key.indexOf('/');
  let bits = '';
  for (const c of key.slice(1, slash)) bits += B64.indexOf(c).toString(2).padStart(6, '0');
  let hex = '';
  for (let i = 0; i < 128; i += 4) hex += parseInt(bits.slice(i, i + 4), 2).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}${key.slice(slash)}`;
}

function commonPrefix(ids: readonly string[]): string {
  let prefix = ids[0] ?? '';
  for (const id of ids) while (!id.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

export function packWaiting(queue: readonly PermitRequest[]): CarriedWaiting {
  const prefix = commonPrefix(queue.map((r) => r.deliveryId));
  // A key holds no space (a run id and a number), so the first space ends it.
  return { prefix, entries: queue.map((r) => `${packKey(r.key)} ${r.deliveryId.slice(prefix.length)}`) };
}

export function unpackWaiting(carried: CarriedWaiting, perS: number): PermitRequest[] {
  return carried.entries.map((e) => {
    const space = e.indexOf(' ');
    return { key: unpackKey(e.slice(0, space)), deliveryId: carried.prefix + e.slice(space + 1), perS };
  });
}
