import { z } from 'zod';
import { builtWorkflowBundle, runningFromBuild } from '../build/layout.ts';
import { envFlag as flag, parseEnv } from '../config.ts';

// Performance switches of the runtime. Each default is the variant that won in `npm run bench`
// (bench/results/tuning.md has the before/after numbers); the switches stay so that every variant
// can be measured again on other hardware or another Temporal cluster.

const count = (min: number, max: number) => z.coerce.number().int().min(min).max(max).optional();

/** The performance switches (docs/operations/configuration.md documents each). */
export const tuningSchema = z.object({
  // API and worker in one process share a NativeConnection and ask for eager workflow start: the
  // first workflow task comes back in the start response instead of through a poll.
  VOICEOI_EAGER_WORKFLOW_START: flag(true),
  // The worker reserves a slot for an activity it schedules and gets the task in the workflow-task
  // completion response (the dev server turns this on with system.enableActivityEagerExecution).
  VOICEOI_EAGER_ACTIVITIES: flag(true),
  // The SDK's deadlock detector: a Node vm watchdog thread per call into the workflow sandbox
  // (src/temporal/watchdog-free-worker.ts says what turning it off saves and risks).
  VOICEOI_WORKFLOW_VM_WATCHDOG: flag(true),
  // A bundle built ahead of time skips webpack at worker start. Unset, a process started from dist/
  // loads the build's own (dist/workflow-bundle.js, brought up to date by src/server.ts); one run
  // from source bundles workflows/ itself.
  VOICEOI_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  VOICEOI_WORKER_WORKFLOW_SLOTS: count(2, 10_000),
  VOICEOI_WORKER_ACTIVITY_SLOTS: count(1, 10_000),
  VOICEOI_WORKER_WORKFLOW_POLLERS: count(2, 1_000),
  VOICEOI_WORKER_ACTIVITY_POLLERS: count(1, 1_000),
  // Connections the delivery agent keeps per destination origin.
  VOICEOI_HTTP_CONNECTIONS: count(1, 100_000),
});

export interface Tuning {
  eagerWorkflowStart: boolean;
  eagerActivities: boolean;
  workflowVmWatchdog: boolean;
  workflowBundle?: string;
  workflowSlots?: number;
  activitySlots: number;
  workflowPollers?: number;
  activityPollers?: number;
  httpConnections: number;
}

/** Read once at start-up; a wrong value stops the process with the variable named. */
export function loadTuning(env: NodeJS.ProcessEnv = process.env): Tuning {
  const t = parseEnv(tuningSchema, env, 'tuning configuration');
  return {
    eagerWorkflowStart: t.VOICEOI_EAGER_WORKFLOW_START,
    eagerActivities: t.VOICEOI_EAGER_ACTIVITIES,
    workflowVmWatchdog: t.VOICEOI_WORKFLOW_VM_WATCHDOG,
    workflowBundle: t.VOICEOI_WORKFLOW_BUNDLE ?? (runningFromBuild ? builtWorkflowBundle : undefined),
    workflowSlots: t.VOICEOI_WORKER_WORKFLOW_SLOTS,
    // Attempts are I/O-bound HTTP calls: many can wait on receivers at once, each costing a socket and
    // a few KB. 1000, so that accounts with hanging receivers, each held to VOICEOI_ACCOUNT_MAX_IN_FLIGHT
    // (50), need 20 of them to fill a worker (issue 19); it was 200.
    activitySlots: t.VOICEOI_WORKER_ACTIVITY_SLOTS ?? 1000,
    workflowPollers: t.VOICEOI_WORKER_WORKFLOW_POLLERS,
    activityPollers: t.VOICEOI_WORKER_ACTIVITY_POLLERS,
    httpConnections: t.VOICEOI_HTTP_CONNECTIONS ?? 128,
  };
}
