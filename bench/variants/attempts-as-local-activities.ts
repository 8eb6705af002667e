// Bench variant only (bundled by bench/lib/bundle.ts): runs the retries as local activities too (the
// product runs only a delivery's first attempt locally, workflows/delivery.ts). Not used: a retry lost
// with its worker would rerun in a retried workflow task instead of being recorded as a lost attempt,
// and nothing would bound that (the product's first attempt falls back to an activity on a retried task).
import { proxyLocalActivities, type LocalActivityOptions, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      async scheduleActivity(input, next) {
        if (input.activityType !== 'attemptDelivery') return next(input);
        const options: LocalActivityOptions = { startToCloseTimeout: input.options.startToCloseTimeout, retry: input.options.retry };
        const acts = proxyLocalActivities<Record<string, (...args: unknown[]) => Promise<unknown>>>(options);
        return acts[input.activityType]!(...input.args);
      },
    },
  ],
});
