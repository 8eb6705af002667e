// The tuning matrix of `npm run bench -- --tuning`: the walking skeleton's configuration (baseline),
// the baseline with ONE change each, and the product's current defaults (final).

export type BundleKind = 'transform-as-activity' | 'default' | 'attempts-local' | 'at-start';

export interface Variant {
  name: string;
  change: string;
  /** Whether the change is now the product default (decided from the measurements). */
  kept: string;
  env: Record<string, string>;
  devServerArgs: string[];
  bundle: BundleKind;
}

const sqlite = (pragma: string) => ['--sqlite-pragma', pragma];
const dyn = (kv: string) => ['--dynamic-config-value', kv];

const baseline: Omit<Variant, 'name' | 'change' | 'kept'> = {
  // The skeleton: separate gRPC connections for client and worker (no eager start), the transform as
  // a normal activity, the dev server's SQLite in rollback-journal mode; eager activities were on.
  env: { VOICEOI_EAGER_WORKFLOW_START: 'false' },
  devServerArgs: sqlite('journal_mode=delete'),
  bundle: 'transform-as-activity',
};

const one = (name: string, change: string, kept: string, d: Partial<Omit<Variant, 'name' | 'change' | 'kept'>>): Variant => ({
  name,
  change,
  kept,
  env: { ...baseline.env, ...d.env },
  // Later flags win, so a variant's pragma replaces the baseline's.
  devServerArgs: [...baseline.devServerArgs, ...(d.devServerArgs ?? [])],
  bundle: d.bundle ?? baseline.bundle,
});

export const variants: Variant[] = [
  { name: 'baseline', change: 'walking skeleton (before)', kept: '–', ...baseline },
  one('sqlite-wal', 'dev server SQLite in WAL mode (synchronous stays FULL)', 'yes', { devServerArgs: sqlite('journal_mode=wal') }),
  one('sqlite-wal-normal', 'WAL + synchronous=NORMAL (commits survive process crashes, not power loss)', 'no: durability', {
    devServerArgs: [...sqlite('journal_mode=wal'), ...sqlite('synchronous=normal')],
  }),
  one('eager-start', 'shared NativeConnection + requestEagerStart', 'yes', { env: { VOICEOI_EAGER_WORKFLOW_START: 'true' } }),
  one('no-eager-activities', 'eager activity dispatch OFF (maxEagerActivityReservationsPerWorkflowTask 0)', 'no: eager stays on', { env: { VOICEOI_EAGER_ACTIVITIES: 'false' } }),
  one('local-transform', 'transform as a local activity', 'yes', { bundle: 'default' }),
  one('pollers-many', 'workflow slots 100, pollers 50, activity pollers 20', 'no', {
    env: { VOICEOI_WORKER_WORKFLOW_SLOTS: '100', VOICEOI_WORKER_WORKFLOW_POLLERS: '50', VOICEOI_WORKER_ACTIVITY_POLLERS: '20' },
  }),
  one('pollers-few', 'workflow pollers 2, activity pollers 1', 'no', { env: { VOICEOI_WORKER_WORKFLOW_POLLERS: '2', VOICEOI_WORKER_ACTIVITY_POLLERS: '1' } }),
  one('http-pool-8', 'delivery agent: 8 connections per origin (skeleton: 128)', 'no', { env: { VOICEOI_HTTP_CONNECTIONS: '8' } }),
  one('partitions-1', 'one task-queue partition (dev server dynamic config)', 'no', {
    devServerArgs: [...dyn('matching.numTaskqueueReadPartitions=1'), ...dyn('matching.numTaskqueueWritePartitions=1')],
  }),
  one('log-warn', 'LOG_LEVEL=warn (no request log lines)', 'no: operator choice', { env: { LOG_LEVEL: 'warn' } }),
  { name: 'final', change: 'product defaults now (after), prebuilt bundle', kept: '–', env: {}, devServerArgs: [], bundle: 'default' },
  // The bundle only changes start-up (webpack in the worker process), so it is measured on the final configuration.
  { name: 'final-bundle-at-start', change: 'final, bundle built at worker start (npm start)', kept: 'n/a', env: {}, devServerArgs: [], bundle: 'at-start' },
  // The SDK's vm watchdog (deadlock detector) stays on in the product; this row turns it off alone.
  { name: 'final-vm-watchdog', change: 'final without the SDK vm watchdog (no thread per call into the workflow sandbox)', kept: 'no: a looping workflow would stall every delivery', env: { VOICEOI_WORKFLOW_VM_WATCHDOG: 'false' }, devServerArgs: [], bundle: 'default' },
  { name: 'final+local-attempts', change: 'final + retries as local activities too (the first attempt is local in final)', kept: 'no: a retry lost with its worker would rerun instead of being recorded', env: {}, devServerArgs: [], bundle: 'attempts-local' },
];
