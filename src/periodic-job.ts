/** A job of the worker role that runs now and then every `everyMs`, one run at a time. */
export interface PeriodicJob {
  /** The run started with the job; it never rejects (a run catches and logs its own failure). */
  first: Promise<void>;
  /** Runs once more now, after any run in progress (tests, with their own clock). */
  runOnce(): Promise<void>;
  /** Stops the schedule and waits for a run in progress, so the store can close after it. */
  stop(): Promise<void>;
}

/** `run` must not reject: each job logs its own failure and is tried again next time. */
export function schedule(run: () => Promise<void>, everyMs: number): PeriodicJob {
  let running = run();
  const first = running;
  const timer = setInterval(() => {
    running = running.then(run);
  }, everyMs);
  timer.unref();
  return {
    first,
    runOnce() {
      running = running.then(run);
      return running;
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
