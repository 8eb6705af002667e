import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TYPE_CHECK_TIMEOUT_MS } from '../../sandboxes/limits.ts';
import { NOT_RUN_CODES, type SourceProblem, type TransformEngine, type ValidationResult } from '../../sandboxes/types.ts';
import { requireAccount } from '../auth.ts';
import type { Config } from '../config.ts';
import { SANDBOX_BUSY_RETRY_S } from '../events/filter.ts';
import { assertRoom } from '../tenant-limits.ts';
import { AppError, notFound } from '../errors.ts';
import type { Store } from '../store/index.ts';
import type { Mapping, MappingLanguage } from '../store/mappings.ts';
import { idParams, listOf, noContent } from './common.schema.ts';
import {
  createMappingBody,
  mappingDetail,
  mappingTestFailure,
  mappingTestResult,
  mappingVersion,
  mappingView,
  putMappingBody,
  testMappingBody,
  versionParams,
  versionsPage,
  versionsQuery,
} from './mappings.schema.ts';
import { withAuthErrors } from './errors.schema.ts';

const view = ({ account_id: _a, ...m }: Mapping) => m;

/** Problems of the upload as a whole (no position to point at), with their status when not 400. */
const WHOLE_SOURCE_STATUS: Partial<Record<SourceProblem['code'], number>> = {
  source_too_large: 413,
  type_check_timeout: 400,
  type_check_out_of_memory: 400,
  type_checker_unavailable: 503,
};

/** Upload-time validation: the first problem is the headline, all of them are listed with positions. */
async function assertValid(engine: Pick<TransformEngine, 'validate'>, language: MappingLanguage, source: string): Promise<void> {
  const result: ValidationResult = await engine.validate(language, source);
  if (result.ok) return;
  const [first] = result.errors;
  const wholeSourceStatus = first && WHOLE_SOURCE_STATUS[first.code];
  if (first && wholeSourceStatus) {
    // Busy: one check ends within the time limit, so that is when to come back.
    const retry = first.code === 'type_checker_unavailable' ? { retry_after_s: TYPE_CHECK_TIMEOUT_MS / 1000 } : undefined;
    throw new AppError(wholeSourceStatus, first.code, first.message, retry);
  }
  throw new AppError(400, first?.code ?? 'invalid_mapping', first ? `line ${first.line}, column ${first.column}: ${first.message}` : 'the mapping is invalid', {
    line: first?.line,
    column: first?.column,
    errors: result.errors,
  });
}

export interface MappingRouteDeps {
  store: Pick<Store, 'mappings' | 'destinations'>;
  engine: Pick<TransformEngine, 'validate' | 'run'>;
  config: Pick<Config, 'VOICEOI_MAX_MAPPINGS' | 'VOICEOI_MAX_MAPPING_VERSIONS'>;
}

export const mappingRoutes = (deps: MappingRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const { store, engine } = deps;
  const tags = ['mappings'];

  app.post('/v1/mappings', { schema: { tags, operationId: 'createMapping', body: createMappingBody, response: { 201: mappingView, ...withAuthErrors(400, 409, 413, 503) } } }, async (req, reply) => {
    const account = requireAccount(req);
    assertRoom((await store.mappings.list(account.id)).length, deps.config.VOICEOI_MAX_MAPPINGS, 'mappings', 'mapping_limit_reached');
    await assertValid(engine, req.body.language, req.body.source);
    return reply.status(201).send(view(await store.mappings.create(account.id, req.body)));
  });

  app.put('/v1/mappings/:id', {
    schema: {
      tags,
      operationId: 'updateMapping',
      description: 'Saves a new version of the mapping (versions are immutable; deliveries may pin one).',
      params: idParams,
      body: putMappingBody,
      response: { 200: mappingView, ...withAuthErrors(400, 404, 409, 413, 503) },
    },
  }, async (req) => {
    const account = requireAccount(req);
    const existing = await store.mappings.get(account.id, req.params.id);
    if (!existing) throw notFound('mapping', req.params.id);
    // Versions are immutable and kept (a delivery pins one): past the bound, start a new mapping.
    if (existing.version >= deps.config.VOICEOI_MAX_MAPPING_VERSIONS) {
      const max = deps.config.VOICEOI_MAX_MAPPING_VERSIONS;
      throw new AppError(409, 'mapping_version_limit_reached', `Mapping '${existing.id}' has ${existing.version} versions, the most one mapping may have (${max}); create a new mapping`, { limit: max });
    }
    await assertValid(engine, existing.language, req.body.source);
    const updated = await store.mappings.addVersion(account.id, req.params.id, req.body);
    if (!updated) throw notFound('mapping', req.params.id);
    return view(updated);
  });

  app.get('/v1/mappings', { schema: { tags, operationId: 'listMappings', response: { 200: listOf(mappingView), ...withAuthErrors() } } }, async (req) => {
    const account = requireAccount(req);
    return { items: (await store.mappings.list(account.id)).map(view) };
  });

  app.get('/v1/mappings/:id', { schema: { tags, operationId: 'getMapping', params: idParams, response: { 200: mappingDetail, ...withAuthErrors(404) } } }, async (req) => {
    const account = requireAccount(req);
    const m = await store.mappings.get(account.id, req.params.id);
    if (!m) throw notFound('mapping', req.params.id);
    const current = await store.mappings.version(m.id, m.version);
    return { ...view(m), source: current?.source };
  });

  // Newest first and paged, without sources: a mapping may hold hundreds of versions of up to 256 KiB.
  app.get('/v1/mappings/:id/versions', {
    schema: { tags, operationId: 'listMappingVersions', params: idParams, querystring: versionsQuery, response: { 200: versionsPage, ...withAuthErrors(400, 404) } },
  }, async (req) => {
    const account = requireAccount(req);
    const { limit, cursor } = req.query;
    const page = await store.mappings.versions(account.id, req.params.id, { limit, before: cursor === undefined ? undefined : Number(cursor) });
    if (!page) throw notFound('mapping', req.params.id);
    return { items: page.items, next_cursor: page.more ? String(page.items.at(-1)!.version) : null };
  });

  app.get('/v1/mappings/:id/versions/:version', { schema: { tags, operationId: 'getMappingVersion', params: versionParams, response: { 200: mappingVersion, ...withAuthErrors(400, 404) } } }, async (req) => {
    const account = requireAccount(req);
    if (!(await store.mappings.get(account.id, req.params.id))) throw notFound('mapping', req.params.id);
    const v = await store.mappings.version(req.params.id, req.params.version);
    if (!v) throw new AppError(404, 'mapping_version_not_found', `Mapping '${req.params.id}' has no version ${req.params.version}`);
    return { version: v.version, source: v.source, created_at: v.created_at };
  });

  app.delete('/v1/mappings/:id', { schema: { tags, operationId: 'deleteMapping', params: idParams, response: { 204: noContent, ...withAuthErrors(404, 409) } } }, async (req, reply) => {
    const account = requireAccount(req);
    const users = (await store.destinations.list(account.id)).filter((d) => d.mapping_id === req.params.id);
    if (users.length > 0)
      throw new AppError(409, 'mapping_in_use', `Mapping '${req.params.id}' is used by destination(s) ${users.map((d) => d.id).join(', ')}; detach it first`);
    if (!(await store.mappings.delete(account.id, req.params.id))) throw notFound('mapping', req.params.id);
    return reply.status(204).send();
  });

  app.post('/v1/mappings/test', {
    schema: {
      tags,
      operationId: 'testMapping',
      description:
        'Runs a mapping (a draft: language and source; or a saved one: mapping_id and version) on an event, as a delivery would. ' +
        '422: the mapping itself failed (its error code, message, line and column, with `logs` and `duration_ms`).',
      body: testMappingBody,
      response: { 200: mappingTestResult, 422: mappingTestFailure, ...withAuthErrors(400, 404, 413, 503) },
    },
  }, async (req, reply) => {
    const account = requireAccount(req);
    const body = req.body;
    let language: MappingLanguage;
    let source: string;
    let key: string;
    let mapping = { id: 'test', version: 0 };
    let limits: { timeoutMs?: number; memoryMb?: number };
    if ('mapping_id' in body) {
      const m = await store.mappings.get(account.id, body.mapping_id);
      if (!m) throw notFound('mapping', body.mapping_id);
      const v = await store.mappings.version(m.id, body.version ?? m.version);
      if (!v) throw new AppError(404, 'mapping_version_not_found', `Mapping '${m.id}' has no version ${body.version}`);
      ({ language, source } = { language: m.language, source: v.source });
      key = `${m.id}@${v.version}`;
      mapping = { id: m.id, version: v.version };
      limits = { timeoutMs: m.timeout_ms ?? undefined, memoryMb: m.memory_mb ?? undefined };
    } else {
      ({ language, source } = body);
      await assertValid(engine, language, source);
      // Unsaved source is cached by its content hash, so re-running an unchanged draft skips compiling.
      key = `test:${language}:${createHash('sha256').update(source).digest('base64url')}`;
      limits = { timeoutMs: body.timeout_ms ?? undefined, memoryMb: body.memory_mb ?? undefined };
    }
    // A client that went away (closed the tab, timed out) no longer wants the run: one still waiting
    // for the sandbox is withdrawn rather than run for no one.
    const gone = new AbortController();
    const abandon = () => {
      if (!reply.raw.writableEnded) gone.abort();
    };
    reply.raw.once('close', abandon);
    const out = await engine
      .run({
        accountId: account.id,
        signal: gone.signal,
        key,
        language,
        source,
        event: { ...body.event, account_id: account.id },
        ctx: { destination: { id: 'dst_test', url: 'https://example.invalid/test' }, delivery: { id: 'delivery:test', attempt: 1 }, mapping },
        limits,
      })
      .finally(() => reply.raw.off('close', abandon));
    if (!out.ok && NOT_RUN_CODES.has(out.error.code)) {
      // Not the mapping's fault: a 503 to try again, never a 422 that reads as a verdict on the source.
      throw new AppError(503, 'sandbox_busy', `The test could not run now: ${out.error.message}`, { retry_after_s: SANDBOX_BUSY_RETRY_S });
    }
    if (out.ok) return { result: out.result, logs: out.logs, duration_ms: out.duration_ms };
    return reply.status(422).send({ ...out.error, logs: out.logs, duration_ms: out.duration_ms });
  });
};
