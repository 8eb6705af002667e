// Times the delivery shows. In a workflow, Date.now() is the start of the workflow task being run, so
// an outcome that arrived inside that task (a local activity: the first attempt, the transform) came
// after it: such outcomes carry the worker's own clock (finished_at), and the times built on them use it.

/** The moment an outcome was known: its own finished_at, or the workflow task that received it (records from before finished_at existed). */
export function momentOf(outcome: { finished_at?: string } | undefined): string {
  return outcome?.finished_at ?? new Date(Date.now()).toISOString();
}

/** The earliest moment a timer started now fires: it starts when this task completes, after the outcome that led to it. */
export function timerFiresAfter(waitMs: number, after: { finished_at?: string } | undefined): string {
  const known = after?.finished_at ? Date.parse(after.finished_at) : NaN;
  return new Date(Math.max(Date.now(), Number.isNaN(known) ? 0 : known) + waitMs).toISOString();
}
