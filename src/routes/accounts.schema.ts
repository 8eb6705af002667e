import { z } from 'zod';
import { refineCidrs } from '../delivery/network-policy.ts';
import { changesSomething, displayName } from './common.schema.ts';

export const createAccountBody = z.object({ name: displayName });

export const accountView = z.object({
  id: z.string(),
  name: z.string(),
  created_at: z.string(),
  allowed_networks: z.array(z.string()),
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
    data_retention_days: z.number().int().min(1).max(3650).nullable().optional(),
  }),
);
