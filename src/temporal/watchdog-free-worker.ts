import { Worker } from '@temporalio/worker';

/**
 * A Worker whose workflow sandbox runs without Node's per-call vm watchdog
 * (`VOICEOI_WORKFLOW_VM_WATCHDOG=false`; the default keeps the watchdog).
 *
 * The SDK enters the workflow vm context through `vm.Script#runInContext({ timeout })` several times
 * per activation, and Node implements that timeout by creating and joining a watchdog thread on
 * every call: ≈ 100 µs of CPU each against ≈ 2 µs without (bench/results/hot-path.md). At 20
 * events/s that came to ≈ 1.5–3 ms of CPU per delivery of our process's ≈ 25 (two A/B runs,
 * bench/README.md).
 *
 * What it gives up is the SDK's deadlock detector: with it, a workflow task that computes for 5 s
 * fails and the worker goes on with other deliveries; without it, such a task would hold the
 * workflow thread forever and stall every delivery of the process (and again after a restart, on
 * replay). Only this repository's workflow code runs in that vm — BPO mappings run in the
 * isolated-vm sandbox with their own deadlines — but the saving is small against that blast
 * radius, so it is an operator's choice, not the default.
 */
export class WatchdogFreeWorker extends Worker {
  protected static override async createWorkflowCreator(
    ...[bundle, options, logger]: Parameters<typeof Worker.createWorkflowCreator>
  ): ReturnType<typeof Worker.createWorkflowCreator> {
    // `timeout: undefined` is how runInContext runs without a watchdog; the thread pool is unchanged.
    return super.createWorkflowCreator(bundle, { ...options, isolateExecutionTimeoutMs: undefined as unknown as number }, logger);
  }
}
