import { z } from 'zod';
import { refineCidrs } from '../delivery/network-policy.ts';
import { changesSomething, displayName } from './common.schema.ts';

export const createAccountBody = z.strictObject({ name: displayName });

export const ingestQuota = z.strictObject({
  rate_per_s: z.number().int().min(0).max(1_000_000).describe('events per second; 0: no quota for this account'),
  burst: z.number().int().min(100).max(10_000_000).describe('events that may arrive at once above that pace (at least one batch of 100)'),
});

export const accountView = z.object({
  id: z.string(),
  name: z.string(),
  created_at: z.string(),
  allowed_networks: z.array(z.string()),
  /** null: the install's default (VOICEOI_INGEST_RATE_PER_S, VOICEOI_INGEST_BURST). */
  ingest_quota: ingestQuota.nullable(),
  stream_retention_hours: z.number().nullable().describe("How long this account's pull messages are kept; null: the install's VOICEOI_STREAM_RETENTION_HOURS."),
  data_retention_days: z.number().int().nullable().describe("days a call's data is kept before its key is destroyed; null: the install's VOICEOI_DATA_RETENTION_DAYS"),
});

const MAX_NETWORKS = 50;

const cidr = z
  .string()
  .trim()
  .max(64)
  .superRefine(refineCidrs);

// Strict: a typo such as `allowed_network` is an error, not a silent no-op.
export const patchAccountBody = changesSomething(
  z.strictObject({
    allowed_networks: z.array(cidr).max(MAX_NETWORKS, `give at most ${MAX_NETWORKS} networks`).optional(),
    /** The account's own ingest quota; null goes back to the install's default. */
    ingest_quota: ingestQuota.nullable().optional(),
    stream_retention_hours: z.number().int().min(1).max(24 * 365).nullable().optional(),
    data_retention_days: z.number().int().min(1).max(3650).nullable().optional(),
  }),
);
