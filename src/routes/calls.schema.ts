import { z } from 'zod';

/** A call id as producers send it in `data.call_id`: any non-empty string, bounded. */
export const callParams = z.object({ call_id: z.string().min(1).max(256) });

/** The admin erases for an account it names; an account key erases its own calls and may not name another. */
export const eraseQuery = z.strictObject({ account_id: z.string().min(1).max(64).optional() });

const erasedAt = z.string().describe('When the erasure took hold (RFC 3339): from this moment nothing of the call is sent or encrypted under its keys; the keys are destroyed after');

export const erasureAnswer = z.object({
  call_id: z.string(),
  erased_at: erasedAt,
  deliveries: z.number().int().describe('deliveries of the call the erasure covered'),
  cancelled: z.number().int().describe('of those, the ones still running, now ended `cancelled` (reason `erased`)'),
});

export const callView = z.object({
  call_id: z.string(),
  erased_at: erasedAt.optional(),
  erased_by: z.enum(['account', 'admin', 'retention']).optional(),
  deliveries: z.array(z.string()),
});
