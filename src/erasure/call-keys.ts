import { KeyRingError } from '../crypto/keyring.ts';
import { LruCache } from '../../sandboxes/lru-cache.ts';
import type { CallStore } from '../store/calls.ts';
import type { CallKeySource } from '../temporal/codec.ts';

const WORKFLOWS_CACHED = 10_000;
const KEYS_CACHED = 4096;
/**
 * How long an unwrapped call key is reused without asking the store. Erasing in this process drops
 * it at once (forget); another process holding it stops using it within this time.
 */
export const CALL_KEY_TTL_MS = 30_000;

export interface CallKeys extends CallKeySource {
  /** Drops the key from this process's caches (its erasure ran here). */
  forget(keyId: string): void;
}

/**
 * The codec's per-call keys, read from the store (src/store/calls.ts). Which key a delivery uses never
 * changes once ingest recorded it, so that look-up is cached for good; the keys themselves for
 * `ttlMs` (0: read every time, for the codec endpoint, which must never show an erased call).
 */
export function createCallKeys(deps: { calls: Pick<CallStore, 'deliveryKeyId' | 'openKey'>; ttlMs?: number; now?: () => number }): CallKeys {
  const ttl = deps.ttlMs ?? CALL_KEY_TTL_MS;
  const now = deps.now ?? Date.now;
  const byWorkflow = new LruCache<string, string | null>(WORKFLOWS_CACHED);
  const keys = new LruCache<string, { key: Buffer; until: number; forEncryption: boolean }>(KEYS_CACHED);

  async function open(id: string, forEncryption: boolean): Promise<Buffer | undefined> {
    const hit = keys.get(id);
    if (hit && hit.until > now() && (hit.forEncryption || !forEncryption)) return hit.key;
    const key = await deps.calls.openKey(id, { forEncryption });
    if (!key) {
      keys.delete(id);
      return undefined;
    }
    if (ttl > 0) keys.set(id, { key, until: now() + ttl, forEncryption });
    return key;
  }

  return {
    async forWorkflow(workflowId) {
      // Only deliveries belong to calls; gates, drains and operational deliveries use the key ring.
      if (!workflowId.startsWith('delivery:')) return undefined;
      let id = byWorkflow.get(workflowId);
      if (id === undefined) {
        id = (await deps.calls.deliveryKeyId(workflowId)) ?? null;
        byWorkflow.set(workflowId, id);
      }
      if (id === null) return undefined;
      const key = await open(id, true);
      if (!key) throw new KeyRingError('erased', `the data of this delivery's call was erased (call key "${id}"): nothing more is written for it`, id);
      return { id, key };
    },
    key: (id) => open(id, false),
    forget(id) {
      keys.delete(id);
    },
  };
}
