import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { AppError, DomainError, formatIssues, zodIssues } from '../errors.ts';
import { envelopeJsonSchema, eventDescriptions, eventEnvelopeSchema, eventTypes, type EventEnvelope } from '../events/catalog.ts';
import type { Config } from '../config.ts';
import type { BatchItem, IngestService } from '../ingest.ts';
import { createIngestQuotaGuard } from '../ingest-quota.ts';
import type { Store } from '../store/index.ts';
import {
  BATCH_BODY_LIMIT,
  batchBody,
  batchDescription,
  batchResponse,
  EVENT_BODY_LIMIT,
  eventTypeList,
  ingestResponse,
  MAX_BATCH_EVENTS,
  type BatchResult,
} from './events.schema.ts';
import { withAuthErrors } from './errors.schema.ts';

export interface EventRouteDeps {
  ingest: IngestService;
  /** The account an admin-token request names; the per-account ingest quotas. */
  store: Pick<Store, 'accounts' | 'ingestQuotas'>;
  config: Pick<Config, 'VOICEOI_INGEST_RATE_PER_S' | 'VOICEOI_INGEST_BURST'>;
}

export const eventRoutes = (deps: EventRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const quota = createIngestQuotaGuard(deps.config, deps.store.ingestQuotas);

  /**
   * The account an envelope is ingested for: the key's own, or (admin token: the platform posting on
   * behalf of any account) the one it names. `known` remembers the accounts of one request.
   */
  async function accountOf(req: FastifyRequest, envelope: EventEnvelope, known = new Map<string, boolean>()): Promise<string> {
    const p = req.principal;
    if (p?.kind === 'account') return p.account.id;
    if (!envelope.account_id) throw new AppError(400, 'account_required', 'account_id: required when posting with the admin token');
    let exists = known.get(envelope.account_id);
    if (exists === undefined) known.set(envelope.account_id, (exists = (await deps.store.accounts.get(envelope.account_id)) !== undefined));
    if (!exists) throw new AppError(404, 'account_not_found', `No account '${envelope.account_id}'`);
    return envelope.account_id;
  }

  app.post('/v1/events', {
    bodyLimit: EVENT_BODY_LIMIT,
    schema: {
      tags: ['events'],
      operationId: 'ingestEvent',
      description: 'One event envelope; the same id again answers the first one\'s deliveries and starts nothing new.',
      body: eventEnvelopeSchema,
      response: { 202: ingestResponse, ...withAuthErrors(400, 404, 413, 415, 503) },
    },
  }, async (req, reply) => {
    const body = req.body as EventEnvelope;
    const accountId = await accountOf(req, body);
    await quota.admit(accountId, 1);
    return reply.status(202).send(await deps.ingest.ingest(accountId, body));
  });

  app.post('/v1/events/batch', {
    bodyLimit: BATCH_BODY_LIMIT,
    // Before the schema: a batch of the wrong size gets its own code, not a generic validation error.
    preValidation: async (req) => {
      const events = req.body;
      if (!Array.isArray(events)) return;
      if (events.length > MAX_BATCH_EVENTS) {
        throw new AppError(400, 'batch_too_large', `${events.length} events in one batch; a batch holds at most ${MAX_BATCH_EVENTS}: split it`, { max_events: MAX_BATCH_EVENTS });
      }
      if (events.length === 0) throw new AppError(400, 'batch_empty', `an empty batch; a batch holds 1 to ${MAX_BATCH_EVENTS} events`);
    },
    schema: {
      tags: ['events'],
      operationId: 'ingestEventBatch',
      description: batchDescription,
      body: batchBody,
      response: { 202: batchResponse, ...withAuthErrors(400, 413, 415) },
    },
  }, async (req, reply) => {
    const results: BatchResult[] = new Array(req.body.length);
    const items: BatchItem[] = [];
    const indexes: number[] = [];
    const known = new Map<string, boolean>();
    for (const [index, raw] of req.body.entries()) {
      const refusal = await admit(req, raw, known);
      if ('code' in refusal) results[index] = { index, ...refusal };
      else {
        items.push(refusal);
        indexes.push(index);
      }
    }
    // A batch spends one unit of its account's quota per event. An account key's batch (one account)
    // over its quota is refused whole, with Retry-After; an admin batch refuses the events of the
    // accounts over theirs and accepts the others.
    const perAccount = new Map<string, number>();
    for (const item of items) perAccount.set(item.accountId, (perAccount.get(item.accountId) ?? 0) + 1);
    const overQuota = new Map<string, unknown>();
    for (const [accountId, events] of perAccount) {
      try {
        await quota.admit(accountId, events);
      } catch (err) {
        if (perAccount.size === 1) throw err;
        overQuota.set(accountId, err);
      }
    }
    const admitted = items.filter((item, k) => {
      const err = overQuota.get(item.accountId);
      if (err) results[indexes[k]!] = { index: indexes[k]!, event_id: item.envelope.id, ...refusalOf(req, err) };
      return !err;
    });
    const admittedIndexes = indexes.filter((_, k) => !overQuota.has(items[k]!.accountId));
    const outcomes = await deps.ingest.ingestBatch(admitted);
    outcomes.forEach((outcome, k) => {
      const index = admittedIndexes[k]!;
      results[index] = outcome.ok
        ? { index, ...outcome.result }
        : { index, event_id: admitted[k]!.envelope.id, ...refusalOf(req, outcome.error) };
    });
    const refused = results.filter((r) => 'code' in r).length;
    return reply.status(202).send({ accepted: results.length - refused, refused, results });
  });

  /** One envelope of a batch checked as POST /v1/events checks its body: the item to ingest, or why not. */
  async function admit(req: FastifyRequest, raw: unknown, known: Map<string, boolean>): Promise<BatchItem | Refusal> {
    if (Buffer.byteLength(JSON.stringify(raw) ?? '') > EVENT_BODY_LIMIT) {
      return { code: 'payload_too_large', message: `The event is over the limit of ${EVENT_BODY_LIMIT} bytes` };
    }
    const parsed = eventEnvelopeSchema.safeParse(raw);
    if (!parsed.success) {
      const issues = zodIssues(parsed.error, 'event');
      return { code: 'validation_error', message: formatIssues(issues), issues };
    }
    const envelope = parsed.data as EventEnvelope;
    try {
      return { accountId: await accountOf(req, envelope, known), envelope };
    } catch (err) {
      return { event_id: envelope.id, ...refusalOf(req, err) };
    }
  }

  app.get('/v1/event-types', {
    config: { public: true },
    schema: { tags: ['events'], operationId: 'listEventTypes', security: [], response: { 200: eventTypeList } },
  }, async () => ({
    items: eventTypes.map((type) => ({ type, description: eventDescriptions[type], schema: envelopeJsonSchema(type) })),
  }));
};

interface Refusal {
  event_id?: string;
  code: string;
  message: string;
  issues?: { path: string; message: string }[];
}

/** A per-event error as the error handler would answer it for POST /v1/events; anything unexpected is logged and hidden. */
function refusalOf(req: FastifyRequest, err: unknown): Refusal {
  if (err instanceof AppError || err instanceof DomainError) return { code: err.code, message: err.message };
  req.log.error({ err }, 'unhandled error in a batch event');
  return { code: 'internal_error', message: 'Something went wrong on our side; the error is logged' };
}
