import { ServiceError, WorkflowNotFoundError, type Client, type WorkflowExecutionDescription } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import type { DeliveryState, DeliveryStatus } from '../../workflows/types.ts';
import { statusQuery, type deliveryWorkflow } from '../../workflows/delivery.ts';
import { unknownId } from '../errors.ts';
import { parseDeliveryId } from '../temporal/delivery-ids.ts';
import { dateOf, keywordOf } from '../temporal/raw-decode.ts';
import { SA } from '../temporal/search-attributes.ts';
import { isQuerySafe, literal, startedSince } from '../temporal/visibility-query.ts';
import type { Cursors } from './cursor.ts';
import type { RunReader } from './runs.ts';

/** How long `GET /v1/deliveries/:id` waits for a running delivery to answer its status query. */
const QUERY_DEADLINE_MS = 1500;
const GRPC_DEADLINE_EXCEEDED = 4;
const WORKFLOW_TASK_STARTED = proto.temporal.api.enums.v1.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED;
const isDeadlineExceeded = (err: unknown): boolean =>
  err instanceof ServiceError && (err.cause as { code?: number } | undefined)?.code === GRPC_DEADLINE_EXCEEDED;

// The transform outcome stays in the view: the console shows what the mapping produced and logged.
export interface DeliveryView extends Omit<DeliveryState, 'account_id' | 'mapping'> {
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
  /** Its call was erased (src/erasure/erased-deliveries.ts): `status` is the one its summary kept. */
  erased?: true;
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

/** Every visibility query starts here: the account is in each one, so nothing widens what a caller sees. */
export const accountScope = (accountId: string): string => `${SA.account.name} = ${literal(accountId, 'account')}`;

const STATUS_NAMES = ['UNSPECIFIED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT'];
const workflowStatusName = (code: number | null | undefined): string => STATUS_NAMES[code ?? 0] ?? 'UNKNOWN';
/**
 * Runs that closed without a result (the workflow failed, was terminated or timed out) never set their
 * status attribute to a final value: the API reports them `failed`, and recover replays them.
 */
const ENDED_WITHOUT_RESULT: ReadonlySet<string> = new Set(['FAILED', 'TERMINATED', 'TIMED_OUT']);
const ENDED_WITHOUT_RESULT_LIST = `('Failed', 'Terminated', 'TimedOut')`;
/** The same runs in a visibility query. */
export const ENDED_WITHOUT_RESULT_QUERY = `ExecutionStatus IN ${ENDED_WITHOUT_RESULT_LIST}`;

/** The status filter of a listing, true to what the API reports (see ENDED_WITHOUT_RESULT). */
function statusClause(status: DeliveryStatus): string {
  const attribute = `${SA.status.name} = ${literal(status, 'status')}`;
  return status === 'failed' ? `(${attribute} OR ${ENDED_WITHOUT_RESULT_QUERY})` : `${attribute} AND ExecutionStatus NOT IN ${ENDED_WITHOUT_RESULT_LIST}`;
}

function summaryOf(raw: temporal.api.workflow.v1.IWorkflowExecutionInfo): DeliverySummary {
  const sa = raw.searchAttributes?.indexedFields;
  const id = raw.execution?.workflowId ?? '';
  const started = dateOf(raw.startTime);
  if (!started) throw new TypeError('Expected startTime to be a timestamp');
  const workflowStatus = workflowStatusName(raw.status);
  return {
    id,
    run_id: raw.execution?.runId ?? '',
    status: ENDED_WITHOUT_RESULT.has(workflowStatus) ? 'failed' : ((keywordOf(sa, SA.status) ?? 'pending') as DeliveryStatus),
    workflow_status: workflowStatus,
    event_id: parseDeliveryId(id)?.eventId ?? '',
    event_type: keywordOf(sa, SA.eventType) ?? '',
    destination_id: keywordOf(sa, SA.destination) ?? '',
    call_id: keywordOf(sa, SA.callId) ?? null,
    lead_id: keywordOf(sa, SA.leadId) ?? null,
    started_at: started.toISOString(),
    closed_at: dateOf(raw.closeTime)?.toISOString() ?? null,
  };
}

/** One page of a visibility listing; `next` is Temporal's page token, absent on the last page. */
export interface SummaryPage {
  items: DeliverySummary[];
  next?: Uint8Array;
}

export interface DeliveryQueries {
  /** The delivery's newest run, if it exists and belongs to the account; else delivery_not_found. */
  describeOwned(accountId: string, id: string): Promise<WorkflowExecutionDescription>;
  page(query: string, pageSize: number, token?: Uint8Array): Promise<SummaryPage>;
  /**
   * A retried delivery has several runs; only its newest describes it now. Running rows are newest
   * by definition; closed ones are checked against every run of their ids in one visibility query.
   */
  latestOnly(accountId: string, items: DeliverySummary[]): Promise<DeliverySummary[]>;
  get(accountId: string, id: string): Promise<DeliveryView>;
  list(accountId: string, filters: DeliveryFilters): Promise<{ items: DeliverySummary[]; next_cursor: string | null }>;
}

export function createDeliveryQueries(deps: { client: Client; runs: RunReader; cursors: Cursors }): DeliveryQueries {
  const { client, runs, cursors } = deps;
  const namespace = client.options.namespace;

  async function describeOwned(accountId: string, id: string): Promise<WorkflowExecutionDescription> {
    if (!parseDeliveryId(id)) throw unknownId('delivery', id);
    let description: WorkflowExecutionDescription;
    try {
      description = await client.workflow.getHandle(id).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw unknownId('delivery', id);
      throw err;
    }
    // Ownership is the account the delivery was started for, so it holds after its destination is deleted.
    if (description.typedSearchAttributes.get(SA.account) !== accountId) throw unknownId('delivery', id);
    return description;
  }

  async function page(query: string, pageSize: number, token?: Uint8Array): Promise<SummaryPage> {
    const res = await client.workflowService.listWorkflowExecutions({ namespace, query, pageSize, nextPageToken: token });
    return { items: res.executions.map(summaryOf), next: res.nextPageToken?.length ? res.nextPageToken : undefined };
  }

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
      const query = `${accountScope(accountId)} AND WorkflowId IN (${safe.map((id) => `'${id}'`).join(', ')})`;
      let token: Uint8Array | undefined;
      do {
        const p = await page(query, 1000, token);
        for (const run of p.items) note(run.id, run.run_id, run.started_at);
        token = p.next;
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

  /** The delivery as its run knows it: its result, what it answers now, or what is left of a failed run. */
  async function stateOf(description: WorkflowExecutionDescription): Promise<DeliveryState> {
    const handle = client.workflow.getHandle<typeof deliveryWorkflow>(description.workflowId, description.runId, { followRuns: false });
    const status = description.status.name;
    if (status === 'COMPLETED') return handle.result();
    const fromInput = async (): Promise<DeliveryState> => {
      const { input } = await runs.previousRun(description);
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
    };
    if (!ENDED_WITHOUT_RESULT.has(status)) {
      // A query waits for the workflow task in flight, and the first attempt runs inside one (a local
      // activity) for as long as the receiver takes: past the deadline the run has finished no
      // attempt yet, which is what its input says. With no task in flight the worker answers at once.
      if (description.raw.pendingWorkflowTask?.state !== WORKFLOW_TASK_STARTED) return handle.query(statusQuery);
      const deadline = Date.now() + QUERY_DEADLINE_MS;
      return client.withDeadline(deadline, () => handle.query(statusQuery)).catch(async (err: unknown) => {
        // Once the deadline has passed, the server may report the abandoned query as failed some other
        // way than DEADLINE_EXCEEDED (seen once in CI: "Failed to query Workflow", a 500 here).
        if (!isDeadlineExceeded(err) && Date.now() < deadline) throw err;
        return { ...(await fromInput()), reason: 'an attempt is in progress' };
      });
    }
    // Its state as of the end when a worker can still replay it, else what its input says.
    const state: DeliveryState = await handle.query(statusQuery).catch(fromInput);
    return {
      ...state,
      status: 'failed',
      // Ended by Temporal (terminated, timed out, failed), not by the workflow: when its run closed.
      failed_at: description.closeTime?.toISOString() ?? state.failed_at,
      next_attempt_at: undefined,
      reason: `the delivery's workflow run ended ${status.toLowerCase().replace('_', ' ')} without finishing; replay it (POST /v1/deliveries/:id/retry)`,
    };
  }

  return {
    describeOwned,
    page,
    latestOnly,

    async get(accountId, id) {
      const description = await describeOwned(accountId, id);
      const state = await stateOf(description);
      const { account_id: _account, mapping, ...rest } = state;
      rest.attempts = await runs.withEarlierRuns(id, state.attempts);
      return {
        ...rest,
        ...(mapping ? { mapping_id: mapping.id, mapping_version: mapping.version } : {}),
        workflow: { id, run_id: description.runId, status: description.status.name },
      };
    },

    async list(accountId, f) {
      const clauses = [accountScope(accountId)];
      if (f.status) clauses.push(statusClause(f.status));
      if (f.destination_id) clauses.push(`${SA.destination.name} = ${literal(f.destination_id, 'destination_id')}`);
      if (f.event_type) clauses.push(`${SA.eventType.name} = ${literal(f.event_type, 'event_type')}`);
      if (f.call_id) clauses.push(`${SA.callId.name} = ${literal(f.call_id, 'call_id')}`);
      if (f.lead_id) clauses.push(`${SA.leadId.name} = ${literal(f.lead_id, 'lead_id')}`);
      if (f.since) clauses.push(startedSince(f.since));
      const query = clauses.join(' AND ');
      const p = await page(query, f.limit, f.cursor ? cursors.open(f.cursor, query) : undefined);
      return { items: await latestOnly(accountId, p.items), next_cursor: p.next ? cursors.seal(p.next, query) : null };
    },
  };
}
