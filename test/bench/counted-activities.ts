// The activities of test/bench/counted-workflow.ts.
import { activityInfo } from '@temporalio/activity';

const failed = new Set<string>();

export const countedActivities = {
  async echo(s: string): Promise<string> {
    return s;
  },
  /** Fails the first attempt of each workflow run, succeeds after. */
  async flakyOnce(): Promise<void> {
    const run = activityInfo().workflowExecution?.runId ?? activityInfo().activityId;
    if (!failed.has(run)) {
      failed.add(run);
      throw new Error('the first attempt fails on purpose');
    }
  },
};
