// Bench variant only (bundled by bench/lib/bundle.ts): runs each delivery attempt as a local
// activity, so a delivery completes in the workflow task that starts it. It changes the audit log's
// shape (attempts become markers, not ActivityTask events), so it is measured as a proposal, not used.
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
