// What one workflow execution cost Temporal, counted from its real event history (never decoded: only
// event types, attempts, marker names and search-attribute keys are read), and its billable Temporal
// Cloud Actions by Temporal's published definition (docs.temporal.io/cloud/actions):
//   - Workflow started: 1 (client start, continue-as-new's new run; a child's start is billed in its
//     parent as 2). Signal-With-Start: 1 in all, so the signal it records with the start is not another.
//   - Activity: 1 per scheduled activity, plus 1 per retry (ActivityTaskStarted.attempt − 1).
//   - Local activities: all RecordMarker commands of one workflow task count as ONE action — markers are
//     grouped by the workflow task that recorded them. The server's own action metric
//     (command_BatchMarkers) groups every marker, patch markers included, so a task whose only marker
//     is a patch marker is an action too; local-activity retries add
//     WorkflowTaskCompleted.meteringMetadata.nonfirstLocalActivityExecutionAttempts.
//   - Timer started: 1. Search-attribute upsert: 1 per command, unless it only sets TemporalChangeVersion.
//   - Signal: 1 per signal received (a signal sent from a workflow is billed on the receiving side,
//     which is counted when its history is). Update accepted: 1. Start child: 2. Options updated: 1.
//   Not in any history, so not counted: queries, activity heartbeats, rejected updates, workflow-task
//   heartbeats, schedules' own actions, exports.
import proto from '@temporalio/proto';

type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;
type History = proto.temporal.api.history.v1.IHistory;

const EventType = proto.temporal.api.enums.v1.EventType;
const typeName = (t: unknown): string => (typeof t === 'string' ? t : (EventType[t as number] ?? String(t)));

export interface HistoryCounts {
  executions: number;
  events: number;
  /** Serialized size of the history (protobuf), bytes. */
  historyBytes: number;
  workflowTasks: number;
  /** Workflow tasks that failed or timed out (also in workflowTasks). */
  workflowTaskFailures: number;
  activityTasks: number;
  /** Activity attempts that started (a retried activity counts each attempt). */
  activityAttempts: number;
  localActivityMarkers: number;
  patchMarkers: number;
  otherMarkers: number;
  searchAttributeUpserts: number;
  /** Upserts that only set TemporalChangeVersion (the SDK writes one after each patch marker): not billed. */
  changeVersionUpserts: number;
  timers: number;
  signalsReceived: number;
  signalsSent: number;
  updates: number;
  childStarts: number;
  continuedAsNew: number;
  /** Billable actions, by rule (see the file's head). */
  actions: Record<ActionRule, number>;
}

export type ActionRule =
  | 'workflow started'
  | 'activity scheduled'
  | 'activity retry'
  | 'marker batch with a local activity'
  | 'marker batch of patches only'
  | 'local activity retry'
  | 'timer started'
  | 'search-attribute upsert'
  | 'signal'
  | 'update'
  | 'child workflow'
  | 'options updated';

const ACTION_RULES: ActionRule[] = [
  'workflow started',
  'activity scheduled',
  'activity retry',
  'marker batch with a local activity',
  'marker batch of patches only',
  'local activity retry',
  'timer started',
  'search-attribute upsert',
  'signal',
  'update',
  'child workflow',
  'options updated',
];

export function emptyCounts(): HistoryCounts {
  return {
    executions: 0,
    events: 0,
    historyBytes: 0,
    workflowTasks: 0,
    workflowTaskFailures: 0,
    activityTasks: 0,
    activityAttempts: 0,
    localActivityMarkers: 0,
    patchMarkers: 0,
    otherMarkers: 0,
    searchAttributeUpserts: 0,
    changeVersionUpserts: 0,
    timers: 0,
    signalsReceived: 0,
    signalsSent: 0,
    updates: 0,
    childStarts: 0,
    continuedAsNew: 0,
    actions: Object.fromEntries(ACTION_RULES.map((r) => [r, 0])) as Record<ActionRule, number>,
  };
}

export const totalActions = (c: HistoryCounts): number => Object.values(c.actions).reduce((a, b) => a + b, 0);

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** Counts one execution's history (one run). */
export function countHistory(history: History): HistoryCounts {
  const c = emptyCounts();
  const events: HistoryEvent[] = history.events ?? [];
  c.executions = 1;
  c.events = events.length;
  c.historyBytes = proto.temporal.api.history.v1.History.encode(history).finish().length;
  // Markers by the workflow task (its completed event) that recorded them.
  const markerBatches = new Map<string, { localActivity: boolean }>();
  events.forEach((e, i) => {
    switch (typeName(e.eventType)) {
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED':
        if (!e.workflowExecutionStartedEventAttributes?.parentWorkflowExecution) c.actions['workflow started']++;
        break;
      case 'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED':
        c.workflowTasks++;
        break;
      case 'EVENT_TYPE_WORKFLOW_TASK_FAILED':
      case 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT':
        c.workflowTaskFailures++;
        break;
      case 'EVENT_TYPE_WORKFLOW_TASK_COMPLETED':
        c.actions['local activity retry'] += num(e.workflowTaskCompletedEventAttributes?.meteringMetadata?.nonfirstLocalActivityExecutionAttempts);
        break;
      case 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED':
        c.activityTasks++;
        c.actions['activity scheduled']++;
        break;
      case 'EVENT_TYPE_ACTIVITY_TASK_STARTED': {
        const attempt = Math.max(1, num(e.activityTaskStartedEventAttributes?.attempt));
        c.activityAttempts += attempt;
        c.actions['activity retry'] += attempt - 1;
        break;
      }
      case 'EVENT_TYPE_MARKER_RECORDED': {
        const a = e.markerRecordedEventAttributes;
        const name = a?.markerName ?? '';
        if (name === 'core_local_activity') c.localActivityMarkers++;
        else if (name === 'core_patch') c.patchMarkers++;
        else c.otherMarkers++;
        const key = String(num(a?.workflowTaskCompletedEventId));
        const batch = markerBatches.get(key) ?? { localActivity: false };
        if (name !== 'core_patch') batch.localActivity = true;
        markerBatches.set(key, batch);
        break;
      }
      case 'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES': {
        c.searchAttributeUpserts++;
        const keys = Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {});
        if (keys.length > 0 && keys.every((k) => k === 'TemporalChangeVersion')) c.changeVersionUpserts++;
        else c.actions['search-attribute upsert']++;
        break;
      }
      case 'EVENT_TYPE_TIMER_STARTED':
        c.timers++;
        c.actions['timer started']++;
        break;
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED':
        c.signalsReceived++;
        // Signal-With-Start records the signal right after the start: one action for both.
        if (!(i === 1 && typeName(events[0]?.eventType) === 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED')) c.actions.signal++;
        break;
      case 'EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED':
        c.signalsSent++;
        break;
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED':
        c.updates++;
        c.actions.update++;
        break;
      case 'EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED':
        c.childStarts++;
        c.actions['child workflow'] += 2;
        break;
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW':
        c.continuedAsNew++;
        break;
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_OPTIONS_UPDATED':
        c.actions['options updated']++;
        break;
    }
  });
  for (const b of markerBatches.values()) c.actions[b.localActivity ? 'marker batch with a local activity' : 'marker batch of patches only']++;
  return c;
}

/** Sums counts (several executions). */
export function addCounts(into: HistoryCounts, c: HistoryCounts): HistoryCounts {
  for (const k of Object.keys(c) as (keyof HistoryCounts)[]) {
    if (k === 'actions') for (const r of ACTION_RULES) into.actions[r] += c.actions[r];
    else into[k] += c[k];
  }
  return into;
}

/** Every count divided by n (per delivery), to 0.01. */
export function perUnit(c: HistoryCounts, n: number): HistoryCounts {
  const d = (v: number) => (n > 0 ? Math.round((v / n) * 100) / 100 : Number.NaN);
  const out = emptyCounts();
  for (const k of Object.keys(c) as (keyof HistoryCounts)[]) {
    if (k === 'actions') for (const r of ACTION_RULES) out.actions[r] = d(c.actions[r]);
    else out[k] = d(c[k]);
  }
  return out;
}

/** Epoch ms of an event (its eventTime). */
export const eventTimeMs = (e: HistoryEvent): number => num(e.eventTime?.seconds) * 1000 + Math.floor(num(e.eventTime?.nanos) / 1e6);

/** Only the events at or after `fromMs` and before `toMs` (epoch ms): a long-lived helper's share of a window. */
export function eventsBetween(history: History, fromMs: number, toMs: number): History {
  return { events: (history.events ?? []).filter((e) => eventTimeMs(e) >= fromMs && eventTimeMs(e) < toMs) };
}
