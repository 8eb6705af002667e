// Bench variant only (bundled into a workflow bundle by bench/lib/bundle.ts, never by the product):
// sends the transform back through a normal activity, as the walking skeleton did, so the local
// transform can be measured against it with everything else unchanged.
import { proxyActivities, type ActivityOptions, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      async scheduleLocalActivity(input, next) {
        if (input.activityType !== 'transformEvent') return next(input);
        const options: ActivityOptions = { startToCloseTimeout: input.options.startToCloseTimeout, retry: input.options.retry };
        const acts = proxyActivities<Record<string, (...args: unknown[]) => Promise<unknown>>>(options);
        return acts[input.activityType]!(...input.args);
      },
    },
  ],
});
