// The least a delivery could ask of Temporal, for bench/temporal-floor.ts: no codec, no store, no HTTP.
import { proxyLocalActivities, proxySinks, upsertSearchAttributes, workflowInfo, type Sinks } from '@temporalio/workflow';
import { SA_STATUS } from '../../workflows/search-attribute-keys.ts';

export interface FloorSinks extends Sinks {
  /** Told when the workflow's code has run (after its activation, in the bench process): no history long-poll per workflow. */
  floor: { ran(workflowId: string): void };
}

const { floor } = proxySinks<FloorSinks>();
const { nothing } = proxyLocalActivities<{ nothing(): Promise<number> }>({ startToCloseTimeout: '10 seconds' });

/** Started and completed in its first workflow task: 5 history events. */
export async function emptyWorkflow(): Promise<number> {
  floor.ran(workflowInfo().workflowId);
  return 1;
}

/** The shape of a happy-path delivery: one local activity (a marker) and one search-attribute upsert, in one task. */
export async function deliveryShapedWorkflow(): Promise<number> {
  const n = await nothing();
  upsertSearchAttributes([{ key: SA_STATUS, value: 'delivered' }]);
  floor.ran(workflowInfo().workflowId);
  return n;
}
