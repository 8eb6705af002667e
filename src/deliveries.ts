import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DeliveryState } from '../workflows/types.ts';
import { statusQuery } from '../workflows/delivery.ts';
import { notFound } from './errors.ts';
import type { Store } from './store/index.ts';
import { parseDeliveryId } from './temporal/delivery-ids.ts';

export interface DeliveryView extends Omit<DeliveryState, 'account_id' | 'transform' | 'mapping'> {
  mapping_version?: number;
  mapping_id?: string;
  workflow: { id: string; run_id: string; status: string };
}

export interface DeliveryService {
  get(accountId: string, id: string): Promise<DeliveryView>;
}

export function createDeliveryService(deps: { client: Client; store: Store }): DeliveryService {
  return {
    async get(accountId, id) {
      const parsed = parseDeliveryId(id);
      // The destination in the id decides ownership: another account's delivery is simply not found.
      if (!parsed || !(await deps.store.destinations.get(accountId, parsed.destinationId))) throw notFound('delivery', id);
      const handle = deps.client.workflow.getHandle(id);
      let state: DeliveryState;
      let description;
      try {
        description = await handle.describe();
        state = description.status.name === 'COMPLETED' ? ((await handle.result()) as DeliveryState) : await handle.query(statusQuery);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw notFound('delivery', id);
        throw err;
      }
      const { account_id: _account, transform: _transform, mapping, ...rest } = state;
      return {
        ...rest,
        ...(mapping ? { mapping_id: mapping.id, mapping_version: mapping.version } : {}),
        workflow: { id, run_id: description.runId, status: description.status.name },
      };
    },
  };
}
