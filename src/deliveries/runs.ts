import type { Client, WorkflowExecutionDescription } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { AttemptRecord, DeliveryInput } from '../../workflows/types.ts';
import type { deliveryWorkflow } from '../../workflows/delivery.ts';
import { ATTEMPT_ACTIVITY, schedulesAttempt } from '../activities/names.ts';
import { decodeFirst, localActivityOf } from '../temporal/raw-decode.ts';

/**
 * Whether a history event records a delivery attempt: the scheduling of an attempt activity, or the
 * marker of an attempt run as a local activity (a run's first attempt, workflows/delivery.ts).
 */
export const recordsAttempt = (e: temporal.api.history.v1.IHistoryEvent): boolean =>
  schedulesAttempt(e) || localActivityOf(e)?.activityType === ATTEMPT_ACTIVITY;

/** Reading a delivery's runs from their histories: what a run was started with, what its attempts recorded. */
export interface RunReader {
  /** What the run was started with (its first history event); the event it carries included. */
  inputOf(description: WorkflowExecutionDescription): Promise<DeliveryInput>;
  /** The input of a run, and how many attempts all runs so far made (a replay numbers on from there). */
  previousRun(description: WorkflowExecutionDescription): Promise<{ input: DeliveryInput; attempts: number }>;
  /**
   * A delivery that continued as new carries outlines of its earlier runs' attempts; each outline is
   * replaced by the full record from that run's history (an attempt activity's result, or a local
   * attempt's marker). An attempt
   * that never returned one (timed out) is whole as an outline; a run whose history is gone leaves
   * its outlines as they are.
   */
  withEarlierRuns(workflowId: string, attempts: AttemptRecord[]): Promise<AttemptRecord[]>;
}

export function createRunReader(client: Client): RunReader {
  const namespace = client.options.namespace;
  const converter = client.options.loadedDataConverter;
  const runHandle = (workflowId: string, runId: string) => client.workflow.getHandle<typeof deliveryWorkflow>(workflowId, runId, { followRuns: false });

  async function inputOf(description: WorkflowExecutionDescription): Promise<DeliveryInput> {
    const execution = { workflowId: description.workflowId, runId: description.runId };
    const first = await client.workflowService.getWorkflowExecutionHistory({ namespace, execution, maximumPageSize: 1 });
    const started = first.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    return decodeFirst<DeliveryInput>(converter, started?.input?.payloads);
  }

  return {
    inputOf,

    async previousRun(description) {
      const execution = { workflowId: description.workflowId, runId: description.runId };
      const input = await inputOf(description);
      // A continued run numbers on from its earlier runs: attempt = replay offset + schedule position.
      const before = (input.replayOf?.previousAttempts ?? 0) + (input.continued ? input.continued.next - 1 : 0);
      const handle = runHandle(execution.workflowId, execution.runId);
      if (description.status.name === 'COMPLETED') {
        const state = await handle.result();
        return { input, attempts: Math.max(before, ...state.attempts.map((a) => a.n)) };
      }
      // Terminated or timed out: no result, so count the attempts scheduled in its history.
      const scheduled = ((await handle.fetchHistory()).events ?? []).filter(recordsAttempt).length;
      return { input, attempts: before + scheduled };
    },

    async withEarlierRuns(workflowId, attempts) {
      const runs = [...new Set(attempts.flatMap((a) => (a.run_id ? [a.run_id] : [])))];
      if (runs.length === 0) return attempts;
      const full = new Map<string, AttemptRecord>();
      await Promise.all(
        runs.map(async (runId) => {
          const history = await runHandle(workflowId, runId).fetchHistory().catch(() => undefined);
          const attemptTasks = new Set<string>();
          for (const e of history?.events ?? []) {
            if (schedulesAttempt(e)) attemptTasks.add(String(e.eventId));
            const done = e.activityTaskCompletedEventAttributes;
            const local = localActivityOf(e);
            const result = done && attemptTasks.has(String(done.scheduledEventId)) ? done.result?.payloads : local?.activityType === ATTEMPT_ACTIVITY ? local.result : undefined;
            if (!result) continue;
            const record = await decodeFirst<AttemptRecord>(converter, result);
            // A paused destination's check shares the number of the attempt made after it: skip it.
            if (record.error?.code !== 'destination_paused') full.set(`${runId}:${record.n}`, record);
          }
        }),
      );
      return attempts.map((a) => (a.run_id ? (full.get(`${a.run_id}:${a.n}`) ?? a) : a));
    },
  };
}
