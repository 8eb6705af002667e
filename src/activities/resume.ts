import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { resumeSignal, resumeUpdate } from '../../workflows/delivery.ts';
import { RESUME_STEP_TIMEOUT_MS, type HeldCursor, type HeldDelivery, type HeldPage, type ResumeOutcome, type ResumeScope } from '../../workflows/resume-drain.ts';
import { accountScope } from '../deliveries/query.ts';
import { SA } from '../temporal/search-attributes.ts';
import { literal, startedSince } from '../temporal/visibility-query.ts';

/** Held deliveries per page the drain workflow carries: keeps each activity result far below Temporal's payload limit. */
export const HELD_PAGE_SIZE = 500;

export interface ResumeActivities {
  /** The destination's running deliveries after `after` (oldest first), at most a page of them (HELD_PAGE_SIZE). */
  listHeldDeliveries(input: ResumeScope & { after?: HeldCursor }): Promise<HeldPage>;
  /** Resumes one held delivery and answers once its attempt is done (see workflows/resume-drain.ts). */
  resumeHeldDelivery(held: HeldDelivery): Promise<ResumeOutcome>;
  /** Signals every running delivery after `after` at once: the unordered fallback of a stalled drain. */
  releaseHeldDeliveries(input: ResumeScope & { after: HeldCursor }): Promise<number>;
}

const before = (a: HeldCursor, b: HeldCursor) => a.start < b.start || (a.start === b.start && a.id < b.id);

/** The activities of the resume drain (workflows/resume-drain.ts), on the worker's own client. */
export function createResumeActivities(client: Client, opts: { pageSize?: number } = {}): ResumeActivities {
  const pageSize = opts.pageSize ?? HELD_PAGE_SIZE;
  /**
   * Every running delivery of the destination after `after`, oldest first. Start time is when ingest
   * accepted the event (a replayed run: when it was replayed). Visibility cannot sort, so each page
   * lists the rest of the backlog and keeps its oldest; StartTime narrows it to the cursor's millisecond.
   */
  async function runningAfter({ accountId, destinationId, after }: ResumeScope & { after?: HeldCursor }): Promise<HeldDelivery[]> {
    const clauses = [accountScope(accountId), `${SA.destination.name} = ${literal(destinationId, 'destination_id')}`, `ExecutionStatus = 'Running'`];
    if (after) clauses.push(startedSince(new Date(after.start).toISOString()));
    const held: HeldDelivery[] = [];
    for await (const wf of client.workflow.list({ query: clauses.join(' AND ') })) {
      const h = { id: wf.workflowId, runId: wf.runId, start: wf.startTime.getTime() };
      if (!after || before(after, h)) held.push(h);
    }
    return held.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
  }

  return {
    async listHeldDeliveries(input) {
      const held = await runningAfter(input);
      return { held: held.slice(0, pageSize), more: held.length > pageSize };
    },

    async resumeHeldDelivery({ id, runId }) {
      const ctx = Context.current();
      const handle = client.workflow.getHandle(id, runId);
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<'stalled'>((resolve) => {
        timer = setTimeout(() => resolve('stalled'), RESUME_STEP_TIMEOUT_MS);
      });
      // The update answers once the delivery's next attempt is done: one in flight keeps the order.
      // Its id is this step's, so a retry of the step (its worker stopped meanwhile) waits on the same
      // update instead of sending a second one that would answer at once and let the next delivery
      // overtake this one.
      const updateId = `resume-drain:${ctx.info.workflowExecution?.runId ?? ''}:${ctx.info.activityId}`;
      const update = handle.executeUpdate(resumeUpdate, { updateId }).then(
        (wasHeld) => (wasHeld ? ('resumed' as const) : ('not_held' as const)),
        async (err: unknown) => {
          // A delivery that finished meanwhile rejects the update: nothing to release. Anything else
          // (Temporal unreachable) fails the activity, which Temporal retries.
          if (err instanceof WorkflowNotFoundError) return 'gone' as const;
          const status = await handle.describe().then((d) => d.status.name, (e: unknown) => (e instanceof WorkflowNotFoundError ? 'GONE' : undefined));
          if (status !== undefined && status !== 'RUNNING') return 'gone' as const;
          throw err;
        },
      );
      try {
        // A worker shutting down cancels the step (the delivery it waits on cannot move while this
        // worker stops polling): it fails now, for Temporal to retry elsewhere, instead of holding the
        // shutdown until the stall timer.
        return await Promise.race([update, stalled, ctx.cancelled]);
      } finally {
        clearTimeout(timer);
      }
    },

    async releaseHeldDeliveries(input) {
      const rest = await runningAfter(input);
      // A delivery that finished meanwhile rejects the signal: nothing to release.
      for (const h of rest) await client.workflow.getHandle(h.id, h.runId).signal(resumeSignal).catch(() => undefined);
      return rest.length;
    },
  };
}
