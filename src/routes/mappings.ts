import { createHash } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { TYPE_CHECK_TIMEOUT_MS } from '../../sandboxes/limits.ts';
import type { SourceProblem, TransformEngine, ValidationResult } from '../../sandboxes/types.ts';
import { requireAccount } from '../auth.ts';
import { AppError, notFound } from '../errors.ts';
import type { Store } from '../store/index.ts';
import type { Mapping, MappingLanguage } from '../store/mappings.ts';
import { idParams, listOf } from './common.schema.ts';
import { createMappingBody, mappingView, putMappingBody, testMappingBody, versionParams } from './mappings.schema.ts';

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
}

export const mappingRoutes = (deps: MappingRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const { store, engine } = deps;
  const tags = ['mappings'];

  app.post('/v1/mappings', { schema: { tags, body: createMappingBody, response: { 201: mappingView } } }, async (req, reply) => {
    const account = requireAccount(req);
    await assertValid(engine, req.body.language, req.body.source);
    return reply.status(201).send(view(await store.mappings.create(account.id, req.body)));
  });

  app.put('/v1/mappings/:id', { schema: { tags, params: idParams, body: putMappingBody, response: { 200: mappingView } } }, async (req) => {
    const account = requireAccount(req);
    const existing = await store.mappings.get(account.id, req.params.id);
    if (!existing) throw notFound('mapping', req.params.id);
    await assertValid(engine, existing.language, req.body.source);
    const updated = await store.mappings.addVersion(account.id, req.params.id, req.body);
    if (!updated) throw notFound('mapping', req.params.id);
    return view(updated);
  });

  app.get('/v1/mappings', { schema: { tags, response: { 200: listOf(mappingView) } } }, async (req) => {
    const account = requireAccount(req);
    return { items: (await store.mappings.list(account.id)).map(view) };
  });

  app.get('/v1/mappings/:id', { schema: { tags, params: idParams } }, async (req) => {
    const account = requireAccount(req);
    const m = await store.mappings.get(account.id, req.params.id);
    if (!m) throw notFound('mapping', req.params.id);
    const current = await store.mappings.version(m.id, m.version);
    return { ...view(m), source: current?.source };
  });

  app.get('/v1/mappings/:id/versions', { schema: { tags, params: idParams } }, async (req) => {
    const account = requireAccount(req);
    const versions = await store.mappings.versions(account.id, req.params.id);
    if (!versions) throw notFound('mapping', req.params.id);
    return { items: versions.map(({ mapping_id: _m, ...v }) => v) };
  });

  app.get('/v1/mappings/:id/versions/:version', { schema: { tags, params: versionParams } }, async (req) => {
    const account = requireAccount(req);
    if (!(await store.mappings.get(account.id, req.params.id))) throw notFound('mapping', req.params.id);
    const v = await store.mappings.version(req.params.id, req.params.version);
    if (!v) throw new AppError(404, 'mapping_version_not_found', `Mapping '${req.params.id}' has no version ${req.params.version}`);
    return { version: v.version, source: v.source, created_at: v.created_at };
  });

  app.delete('/v1/mappings/:id', { schema: { tags, params: idParams } }, async (req, reply) => {
    const account = requireAccount(req);
    const users = (await store.destinations.list(account.id)).filter((d) => d.mapping_id === req.params.id);
    if (users.length > 0)
      throw new AppError(409, 'mapping_in_use', `Mapping '${req.params.id}' is used by destination(s) ${users.map((d) => d.id).join(', ')}; detach it first`);
    if (!(await store.mappings.delete(account.id, req.params.id))) throw notFound('mapping', req.params.id);
    return reply.status(204).send();
  });

  app.post('/v1/mappings/test', { schema: { tags, body: testMappingBody } }, async (req, reply) => {
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
    const out = await engine.run({
      key,
      language,
      source,
      event: { ...body.event, account_id: account.id },
      ctx: { destination: { id: 'dst_test', url: 'https://example.invalid/test' }, delivery: { id: 'delivery:test', attempt: 1 }, mapping },
      limits,
    });
    if (out.ok) return { result: out.result, logs: out.logs, duration_ms: out.duration_ms };
    return reply.status(422).send({ ...out.error, logs: out.logs, duration_ms: out.duration_ms });
  });
};
