import { Worker } from '@temporalio/worker';

/**
 * A Worker whose workflow sandbox runs without Node's per-call vm watchdog.
 *
 * The SDK enters the workflow vm context through `vm.Script#runInContext({ timeout })` several times
 * per activation, and Node implements that timeout by creating and joining a watchdog thread on
 * every call (≈ 0.13 ms of CPU each on this machine, against ≈ 3 µs without a timeout). On the
 * single workflow thread those calls serialize every delivery behind thread start-ups: at 20
 * events/s they kept the thread busy ≈ 12 ms per delivery (CPU profile, bench/README.md).
 *
 * What is given up is the SDK's deadlock detector (a workflow task that runs for 5 s fails instead of
 * hanging the workflow thread). Only this repository's workflow code runs in that vm — BPO mappings
 * run in the isolated-vm sandbox with their own deadlines — and it has no loop without an await, so
 * the detector guards against nothing a test would not catch. `VOICEOI_WORKFLOW_VM_WATCHDOG=true`
 * turns it back on.
 */
export class WatchdogFreeWorker extends Worker {
  protected static override async createWorkflowCreator(
    ...[bundle, options, logger]: Parameters<typeof Worker.createWorkflowCreator>
  ): ReturnType<typeof Worker.createWorkflowCreator> {
    // `timeout: undefined` is how runInContext runs without a watchdog; the thread pool is unchanged.
    return super.createWorkflowCreator(bundle, { ...options, isolateExecutionTimeoutMs: undefined as unknown as number }, logger);
  }
}
