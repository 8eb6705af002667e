import { createHash } from 'node:crypto';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes.js';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { optionalTsToMs, requiredTsToMs } from '@temporalio/common/lib/time.js';
import type { temporal } from '@temporalio/proto';
import type { AttemptRecord, DeliveryInput, DeliveryState, DeliveryStatus } from '../workflows/types.ts';
import { resumeSignal, resumeUpdate, statusQuery } from '../workflows/delivery.ts';
import { AppError, notFound } from './errors.ts';
import type { IngestService } from './ingest.ts';
import type { Destination } from './store/destinations.ts';
import type { Store } from './store/index.ts';
import { parseDeliveryId } from './temporal/delivery-ids.ts';
import { SA } from './temporal/search-attributes.ts';
import { isQuerySafe, literal, startedSince } from './temporal/visibility-query.ts';

export interface DeliveryView extends Omit<DeliveryState, 'account_id' | 'transform' | 'mapping'> {
  mapping_version?: number;
  mapping_id?: string;
  workflow: { id: string; run_id: string; status: string };
}

/** One row of `GET /v1/deliveries`, straight from Temporal visibility (no history read). */
export interface DeliverySummary {
  id: string;
  run_id: string;
  status: DeliveryStatus;
  workflow_status: string;
  event_id: string;
  event_type: string;
  destination_id: string;
  call_id: string | null;
  lead_id: string | null;
  started_at: string;
  closed_at: string | null;
}

export interface DeliveryFilters {
  status?: DeliveryStatus;
  destination_id?: string;
  event_type?: string;
  call_id?: string;
  lead_id?: string;
  since?: string;
  limit: number;
  cursor?: string;
}

export interface ReplayStarted {
  id: string;
  run_id: string;
  /** The run it replays. */
  replay_of: string;
}

export interface DeliveryService {
  get(accountId: string, id: string): Promise<DeliveryView>;
  list(accountId: string, filters: DeliveryFilters): Promise<{ items: DeliverySummary[]; next_cursor: string | null }>;
  /** A new run of the same workflow id: same event, same `webhook-id`, attempt numbers continuing. */
  retry(accountId: string, id: string): Promise<ReplayStarted>;
  cancel(accountId: string, id: string): Promise<{ id: string; run_id: string }>;
  /**
   * Releases the deliveries held by a resumed destination, oldest first, one at a time (see
   * drainInOrder). Returns how many were held; the drain itself runs on in the background.
   */
  resumeHeld(accountId: string, destinationId: string): Promise<{ held: number; drained: Promise<void> }>;
  /** Internals shared with recover (src/recover.ts). */
  internal: {
    describeOwned(accountId: string, id: string): Promise<WorkflowExecutionDescription>;
    replay(destination: Destination, previous: WorkflowExecutionDescription): Promise<ReplayStarted>;
    list(query: string, pageSize: number, token?: Uint8Array): Promise<{ items: DeliverySummary[]; next?: Uint8Array }>;
    latestOnly(accountId: string, items: DeliverySummary[]): Promise<DeliverySummary[]>;
  };
}

type RawExecution = temporal.api.workflow.v1.IWorkflowExecutionInfo;

const scope = (accountId: string) => `${SA.account.name} = ${literal(accountId, 'account')}`;

// A cursor is Temporal's page token bound to the query it continues: reusing it with other filters
// would silently skip or repeat rows, so that is refused. The account is in every query, so a
// cursor can never widen what a caller sees.
const queryTag = (query: string) => createHash('sha256').update(query).digest('base64url').slice(0, 16);
function sealCursor(token: Uint8Array, query: string): string {
  return Buffer.from(JSON.stringify({ q: queryTag(query), t: Buffer.from(token).toString('base64') })).toString('base64url');
}
function openCursor(cursor: string, query: string): Uint8Array {
  let parsed: { q?: unknown; t?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    throw new AppError(400, 'invalid_cursor', 'cursor: not a cursor returned by this API');
  }
  if (typeof parsed.t !== 'string' || typeof parsed.q !== 'string') throw new AppError(400, 'invalid_cursor', 'cursor: not a cursor returned by this API');
  if (parsed.q !== queryTag(query)) throw new AppError(400, 'invalid_cursor', 'cursor: it belongs to a listing with other filters; send the same filters as the first page');
  return Buffer.from(parsed.t, 'base64');
}

function summaryOf(raw: RawExecution): DeliverySummary {
  const sa = decodeTypedSearchAttributes(raw.searchAttributes?.indexedFields);
  const id = raw.execution?.workflowId ?? '';
  const closed = optionalTsToMs(raw.closeTime);
  const workflowStatus = workflowStatusName(raw.status);
  return {
    id,
    run_id: raw.execution?.runId ?? '',
    status: ENDED_WITHOUT_RESULT.has(workflowStatus) ? 'failed' : ((sa.get(SA.status) ?? 'pending') as DeliveryStatus),
    workflow_status: workflowStatus,
    event_id: parseDeliveryId(id)?.eventId ?? '',
    event_type: sa.get(SA.eventType) ?? '',
    destination_id: sa.get(SA.destination) ?? '',
    call_id: sa.get(SA.callId) ?? null,
    lead_id: sa.get(SA.leadId) ?? null,
    started_at: new Date(requiredTsToMs(raw.startTime, 'startTime')).toISOString(),
    closed_at: closed === undefined ? null : new Date(closed).toISOString(),
  };
}

const STATUS_NAMES = ['UNSPECIFIED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT'];
const workflowStatusName = (code: number | null | undefined): string => STATUS_NAMES[code ?? 0] ?? 'UNKNOWN';
/**
 * Runs that closed without a result (the workflow failed, was terminated or timed out) never set their
 * status attribute to a final value: the API reports them `failed`, and recover replays them.
 */
export const ENDED_WITHOUT_RESULT: ReadonlySet<string> = new Set(['FAILED', 'TERMINATED', 'TIMED_OUT']);
const ENDED_WITHOUT_RESULT_LIST = `('Failed', 'Terminated', 'TimedOut')`;
/** The same runs in a visibility query. */
export const ENDED_WITHOUT_RESULT_QUERY = `ExecutionStatus IN ${ENDED_WITHOUT_RESULT_LIST}`;

/** The status filter of a listing, true to what the API reports (see ENDED_WITHOUT_RESULT). */
function statusClause(status: DeliveryStatus): string {
  const attribute = `${SA.status.name} = ${literal(status, 'status')}`;
  return status === 'failed' ? `(${attribute} OR ${ENDED_WITHOUT_RESULT_QUERY})` : `${attribute} AND ExecutionStatus NOT IN ${ENDED_WITHOUT_RESULT_LIST}`;
}

/** How long one held delivery may take to answer before the rest of the backlog is released unordered. */
export const RESUME_STEP_TIMEOUT_MS = 30_000;

export function createDeliveryService(deps: { client: Client; store: Store; ingest: IngestService; onError?: (err: unknown, what: string) => void }): DeliveryService {
  const { client, store } = deps;
  const namespace = client.options.namespace;
  /** One drain per destination at a time: a second resume queues behind the first, keeping the order. */
  const drains = new Map<string, Promise<void>>();

  /**
   * Ordering after a pause: each held delivery gets the resume update, which answers only once its
   * attempt is done, so the receiver sees the backlog in accepted order (one in flight). Signalling all
   * of them at once, or even one after the other without waiting, lets the attempts race: measured on
   * 20 held events, 42 of 190 pairs arrived out of order. The price is throughput (one attempt at a
   * time), and the order holds only while the drain lasts: each held delivery also re-checks on its
   * own every 5 minutes, and events accepted after the resume are not queued behind the backlog.
   */
  async function drainInOrder(held: { id: string; runId: string }[]): Promise<void> {
    let ordered = true;
    for (const h of held) {
      const handle = client.workflow.getHandle(h.id, h.runId);
      if (ordered) {
        let timer: NodeJS.Timeout | undefined;
        const stalled = new Promise<'stalled'>((resolve) => {
          timer = setTimeout(() => resolve('stalled'), RESUME_STEP_TIMEOUT_MS);
        });
        // A delivery that finished meanwhile rejects the update: nothing to release.
        const outcome = await Promise.race([handle.executeUpdate(resumeUpdate).catch(() => 'gone' as const), stalled]);
        clearTimeout(timer);
        if (outcome !== 'stalled') continue;
        // No worker is answering: release the rest at once rather than stall the backlog.
        ordered = false;
      }
      await handle.signal(resumeSignal).catch(() => undefined);
    }
  }

  async function describeOwned(accountId: string, id: string): Promise<WorkflowExecutionDescription> {
    if (!parseDeliveryId(id)) throw notFound('delivery', id);
    let description: WorkflowExecutionDescription;
    try {
      description = await client.workflow.getHandle(id).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notFound('delivery', id);
      throw err;
    }
    // Ownership is the account the delivery was started for, so it holds after its destination is deleted.
    if (description.typedSearchAttributes.get(SA.account) !== accountId) throw notFound('delivery', id);
    return description;
  }

  async function list(query: string, pageSize: number, token?: Uint8Array) {
    const res = await client.workflowService.listWorkflowExecutions({ namespace, query, pageSize, nextPageToken: token });
    return { items: res.executions.map(summaryOf), next: res.nextPageToken?.length ? res.nextPageToken : undefined };
  }

  /**
   * A retried delivery has several runs; only its newest describes it now. Running rows are newest
   * by definition; closed ones are checked against every run of their ids in one visibility query.
   */
  async function latestOnly(accountId: string, items: DeliverySummary[]): Promise<DeliverySummary[]> {
    const closedIds = [...new Set(items.filter((i) => i.closed_at !== null).map((i) => i.id))];
    if (closedIds.length === 0) return items;
    const newest = new Map<string, { run: string; started: string }>();
    const note = (id: string, run: string, started: string) => {
      const seen = newest.get(id);
      if (!seen || started > seen.started) newest.set(id, { run, started });
    };
    const safe = closedIds.filter(isQuerySafe);
    if (safe.length > 0) {
      const query = `${scope(accountId)} AND WorkflowId IN (${safe.map((id) => `'${id}'`).join(', ')})`;
      let token: Uint8Array | undefined;
      do {
        const page = await list(query, 1000, token);
        for (const run of page.items) note(run.id, run.run_id, run.started_at);
        token = page.next;
      } while (token);
    }
    // An event id with quotes cannot go into a query; such ids are rare, so ask for their runs one by one.
    await Promise.all(
      closedIds.filter((id) => !isQuerySafe(id)).map(async (id) => {
        const d = await client.workflow.getHandle(id).describe();
        note(id, d.runId, d.startTime.toISOString());
      }),
    );
    return items.filter((i) => i.closed_at === null || (newest.get(i.id)?.run ?? i.run_id) === i.run_id);
  }

  /** The input of a run, and how many attempts all runs so far made (a replay numbers on from there). */
  async function previousRun(description: WorkflowExecutionDescription): Promise<{ input: DeliveryInput; attempts: number }> {
    const execution = { workflowId: description.workflowId, runId: description.runId };
    const first = await client.workflowService.getWorkflowExecutionHistory({ namespace, execution, maximumPageSize: 1 });
    const started = first.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    const input = await decodeFromPayloadsAtIndex<DeliveryInput>(client.options.loadedDataConverter, 0, started?.input?.payloads);
    // A continued run numbers on from its earlier runs: attempt = replay offset + schedule position.
    const before = (input.replayOf?.previousAttempts ?? 0) + (input.continued ? input.continued.next - 1 : 0);
    const handle = client.workflow.getHandle(execution.workflowId, execution.runId, { followRuns: false });
    if (description.status.name === 'COMPLETED') {
      const state = (await handle.result()) as DeliveryState;
      return { input, attempts: Math.max(before, ...state.attempts.map((a) => a.n)) };
    }
    // Terminated or timed out: no result, so count the attempts scheduled in its history.
    let scheduled = 0;
    for (const e of (await handle.fetchHistory()).events ?? []) {
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'attemptDelivery') scheduled++;
    }
    return { input, attempts: before + scheduled };
  }

  /** The delivery as its run knows it: its result, what it answers now, or what is left of a failed run. */
  async function stateOf(description: WorkflowExecutionDescription): Promise<DeliveryState> {
    const handle = client.workflow.getHandle(description.workflowId, description.runId, { followRuns: false });
    const status = description.status.name;
    if (status === 'COMPLETED') return (await handle.result()) as DeliveryState;
    if (!ENDED_WITHOUT_RESULT.has(status)) return handle.query(statusQuery);
    // Its state as of the end when a worker can still replay it, else what its input says.
    const state: DeliveryState = await handle.query(statusQuery).catch(async () => {
      const { input } = await previousRun(description);
      return {
        id: input.deliveryId,
        status: 'pending' as const,
        event_id: input.event.id,
        event_type: input.event.type,
        destination_id: input.destinationId,
        account_id: input.accountId,
        attempts: input.continued?.earlier ?? [],
        accepted_at: input.acceptedAt,
      };
    });
    return {
      ...state,
      status: 'failed',
      next_attempt_at: undefined,
      reason: `the delivery's workflow run ended ${status.toLowerCase().replace('_', ' ')} without finishing; replay it (POST /v1/deliveries/:id/retry)`,
    };
  }

  /**
   * A delivery that continued as new carries outlines of its earlier runs' attempts; each outline is
   * replaced by the full record from that run's history (an attempt activity's result). An attempt
   * that never returned one (timed out) is whole as an outline; a run whose history is gone leaves
   * its outlines as they are.
   */
  async function withEarlierRuns(workflowId: string, attempts: AttemptRecord[]): Promise<AttemptRecord[]> {
    const runs = [...new Set(attempts.flatMap((a) => (a.run_id ? [a.run_id] : [])))];
    if (runs.length === 0) return attempts;
    const full = new Map<string, AttemptRecord>();
    await Promise.all(
      runs.map(async (runId) => {
        const history = await client.workflow.getHandle(workflowId, runId, { followRuns: false }).fetchHistory().catch(() => undefined);
        const attemptTasks = new Set<string>();
        for (const e of history?.events ?? []) {
          if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'attemptDelivery') attemptTasks.add(String(e.eventId));
          const done = e.activityTaskCompletedEventAttributes;
          if (!done || !attemptTasks.has(String(done.scheduledEventId))) continue;
          const record = await decodeFromPayloadsAtIndex<AttemptRecord>(client.options.loadedDataConverter, 0, done.result?.payloads);
          // A paused destination's check shares the number of the attempt made after it: skip it.
          if (record.error?.code !== 'destination_paused') full.set(`${runId}:${record.n}`, record);
        }
      }),
    );
    return attempts.map((a) => (a.run_id ? (full.get(`${a.run_id}:${a.n}`) ?? a) : a));
  }

  async function replay(destination: Destination, previous: WorkflowExecutionDescription): Promise<ReplayStarted> {
    const { input, attempts } = await previousRun(previous);
    // The original's pinned mapping version, so a replay sends what the original would have sent.
    await deps.ingest.startDelivery(destination, input.event, input.acceptedAt, { replayOf: { previousAttempts: attempts }, mapping: input.mapping });
    const now = await client.workflow.getHandle(previous.workflowId).describe();
    return { id: previous.workflowId, run_id: now.runId, replay_of: previous.runId };
  }

  return {
    internal: { describeOwned, replay, list, latestOnly },

    async get(accountId, id) {
      const description = await describeOwned(accountId, id);
      const state = await stateOf(description);
      const { account_id: _account, transform: _transform, mapping, ...rest } = state;
      rest.attempts = await withEarlierRuns(id, state.attempts);
      return {
        ...rest,
        ...(mapping ? { mapping_id: mapping.id, mapping_version: mapping.version } : {}),
        workflow: { id, run_id: description.runId, status: description.status.name },
      };
    },

    async list(accountId, f) {
      const clauses = [scope(accountId)];
      if (f.status) clauses.push(statusClause(f.status));
      if (f.destination_id) clauses.push(`${SA.destination.name} = ${literal(f.destination_id, 'destination_id')}`);
      if (f.event_type) clauses.push(`${SA.eventType.name} = ${literal(f.event_type, 'event_type')}`);
      if (f.call_id) clauses.push(`${SA.callId.name} = ${literal(f.call_id, 'call_id')}`);
      if (f.lead_id) clauses.push(`${SA.leadId.name} = ${literal(f.lead_id, 'lead_id')}`);
      if (f.since) clauses.push(startedSince(f.since));
      const query = clauses.join(' AND ');
      const page = await list(query, f.limit, f.cursor ? openCursor(f.cursor, query) : undefined);
      return { items: await latestOnly(accountId, page.items), next_cursor: page.next ? sealCursor(page.next, query) : null };
    },

    async retry(accountId, id) {
      const previous = await describeOwned(accountId, id);
      if (previous.status.name === 'RUNNING') {
        throw new AppError(409, 'delivery_running', `Delivery '${id}' is still running; wait for it to finish or cancel it first`);
      }
      const destinationId = parseDeliveryId(id)!.destinationId;
      const destination = await store.destinations.get(accountId, destinationId);
      if (!destination) throw new AppError(409, 'destination_deleted', `The destination of delivery '${id}' was deleted`);
      if (!destination.enabled) {
        throw new AppError(409, 'destination_disabled', `Destination '${destinationId}' is disabled (${destination.disabled_reason ?? 'by request'}); enable it first`);
      }
      return replay(destination, previous);
    },

    async cancel(accountId, id) {
      const description = await describeOwned(accountId, id);
      if (description.status.name !== 'RUNNING') {
        throw new AppError(409, 'delivery_finished', `Delivery '${id}' already finished (${description.typedSearchAttributes.get(SA.status) ?? description.status.name})`);
      }
      await client.workflow.getHandle(id, description.runId).cancel();
      return { id, run_id: description.runId };
    },

    async resumeHeld(accountId, destinationId) {
      const query = `${scope(accountId)} AND ${SA.destination.name} = ${literal(destinationId, 'destination_id')} AND ExecutionStatus = 'Running'`;
      const held: { id: string; runId: string; start: number }[] = [];
      for await (const wf of client.workflow.list({ query })) held.push({ id: wf.workflowId, runId: wf.runId, start: wf.startTime.getTime() });
      // Start time is when ingest accepted the event (a replayed run: when it was replayed).
      held.sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : 1));
      const drained = (drains.get(destinationId) ?? Promise.resolve())
        .then(() => drainInOrder(held))
        .catch((err: unknown) => deps.onError?.(err, `resuming the deliveries of ${destinationId}`));
      drains.set(destinationId, drained);
      void drained.finally(() => {
        if (drains.get(destinationId) === drained) drains.delete(destinationId);
      });
      return { held: held.length, drained };
    },
  };
}
