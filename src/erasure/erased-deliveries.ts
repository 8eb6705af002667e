import type { DeliveryStatus } from '../../workflows/types.ts';
import type { DeliveryService } from '../deliveries/index.ts';
import { DomainError } from '../errors.ts';
import type { CallStore } from '../store/calls.ts';

const erased = (id: string) => new DomainError('erased', `The data of delivery '${id}' was erased with its call: its event, transform output and bodies no longer exist`);

/**
 * The delivery service as the API serves it once calls can be erased: an erased delivery answers its
 * kept summary (`erased: true`) instead of its history, which no key opens any more, and its event,
 * a retry and a cancel answer 410 `erased` from the moment the erasure marked the call.
 */
export function withErasure(deliveries: DeliveryService, calls: Pick<CallStore, 'delivery' | 'isErased' | 'erasedAmong'>): DeliveryService {
  // Looked up in the caller's account first: another account's delivery stays a 404.
  const refuseErased = async (accountId: string, id: string) => {
    if ((await calls.delivery(accountId, id)) && (await calls.isErased(id))) throw erased(id);
  };
  return {
    ...deliveries,
    async get(accountId, id) {
      const d = await calls.delivery(accountId, id);
      if (d?.erased) return { ...d.erased, erased: true as const };
      return deliveries.get(accountId, id);
    },
    async list(accountId, filters) {
      // Visibility keeps a terminated delivery's last status (e.g. retrying): the erasure's summary knows how it ended.
      const page = await deliveries.list(accountId, filters);
      const erased = await calls.erasedAmong(accountId, page.items.map((i) => i.id));
      if (erased.size === 0) return page;
      return {
        ...page,
        items: page.items.map((i) => {
          const s = erased.get(i.id);
          return s ? { ...i, status: s.status as DeliveryStatus, erased: true as const } : i;
        }),
      };
    },
    async event(accountId, id) {
      await refuseErased(accountId, id);
      return deliveries.event(accountId, id);
    },
    async retry(accountId, id) {
      await refuseErased(accountId, id);
      return deliveries.retry(accountId, id);
    },
    async cancel(accountId, id) {
      await refuseErased(accountId, id);
      return deliveries.cancel(accountId, id);
    },
  };
}
