import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { requireAccount } from '../auth.ts';
import type { ErasureService } from '../erasure/erase.ts';
import { AppError } from '../errors.ts';
import type { Store } from '../store/index.ts';
import { callParams, callView, erasureAnswer, eraseQuery } from './calls.schema.ts';
import { withAuthErrors } from './errors.schema.ts';

export interface CallRouteDeps {
  store: Pick<Store, 'accounts' | 'calls'>;
  erasure: Pick<ErasureService, 'erase'>;
}

export const callRoutes = (deps: CallRouteDeps): FastifyPluginAsyncZod => async (app) => {
  const tags = ['calls'];
  const { calls, accounts } = deps.store;

  /** Whose call: the key's own account, or the one the admin names. */
  async function target(req: FastifyRequest, accountId: string | undefined): Promise<{ accountId: string; by: 'account' | 'admin' }> {
    if (req.principal?.kind === 'admin') {
      if (!accountId) throw new AppError(400, 'validation_error', 'querystring.account_id: the admin erases for one account: add ?account_id=<id>');
      if (!(await accounts.get(accountId))) throw new AppError(404, 'account_not_found', `No account with id '${accountId}'`);
      return { accountId, by: 'admin' };
    }
    const account = requireAccount(req);
    if (accountId !== undefined && accountId !== account.id) throw new AppError(404, 'account_not_found', `No account with id '${accountId}'`);
    return { accountId: account.id, by: 'account' };
  }

  app.post('/v1/calls/:call_id/erase', {
    schema: {
      tags,
      summary: 'Erase everything of a call (crypto-shredding: its data key is destroyed)',
      operationId: 'eraseCall',
      params: callParams,
      querystring: eraseQuery,
      response: { 202: erasureAnswer, ...withAuthErrors(400, 404, 503) },
    },
  }, async (req, reply) => {
    const { accountId, by } = await target(req, req.query.account_id);
    return reply.status(202).send(await deps.erasure.erase(accountId, req.params.call_id, by));
  });

  app.get('/v1/calls/:call_id', { schema: { tags, operationId: 'getCall', params: callParams, response: { 200: callView, ...withAuthErrors(404) } } }, async (req) => {
    const account = requireAccount(req);
    const [deliveries, erasure] = await Promise.all([calls.deliveriesOf(account.id, req.params.call_id), calls.latestErasure(account.id, req.params.call_id)]);
    if (deliveries.length === 0 && !erasure) throw new AppError(404, 'call_not_found', `No call with id '${req.params.call_id}' in this account`);
    return {
      call_id: req.params.call_id,
      ...(erasure ? { erased_at: erasure.erased_at, erased_by: erasure.erased_by } : {}),
      deliveries: deliveries.map((d) => d.delivery_id),
    };
  });
};
