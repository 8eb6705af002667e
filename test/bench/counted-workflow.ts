// A workflow whose history is known by construction, for test/bench/history-count.test.ts.
import { condition, defineSignal, patched, proxyActivities, proxyLocalActivities, setHandler, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import { SA_STATUS } from '../../workflows/search-attribute-keys.ts';
import type { countedActivities } from './counted-activities.ts';

export const goSignal = defineSignal('go');

const { flakyOnce } = proxyActivities<typeof countedActivities>({ startToCloseTimeout: '10 seconds', retry: { initialInterval: '50 milliseconds', maximumAttempts: 3 } });
const { echo } = proxyLocalActivities<typeof countedActivities>({ startToCloseTimeout: '10 seconds' });

/**
 * First workflow task: a patch and two local activities (three markers, one batch). Then one activity
 * that fails its first attempt, a timer, a search-attribute upsert, and a workflow task whose only
 * marker is a second patch. Waits for two `go` signals (Signal-With-Start brings the first).
 */
export async function countedWorkflow(): Promise<number> {
  let signals = 0;
  setHandler(goSignal, () => {
    signals++;
  });
  patched('counted-first');
  await echo('a');
  await echo('b');
  await condition(() => signals >= 2);
  await flakyOnce();
  await sleep(20);
  upsertSearchAttributes([{ key: SA_STATUS, value: 'counted' }]);
  await sleep(20);
  patched('counted-second');
  return signals;
}
