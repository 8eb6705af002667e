import type { ConnectionLike } from '@temporalio/client';
import proto from '@temporalio/proto';
import { searchAttributeNames } from './search-attributes.ts';

/**
 * Makes the namespace fit for deliveries on any cluster: it exists, keeps histories (the audit log)
 * for the configured retention, and knows the search attributes the UI filters on.
 */
export async function prepareNamespace(connection: Pick<ConnectionLike, 'workflowService' | 'operatorService'>, namespace: string, retentionDays: number): Promise<void> {
  const seconds = retentionDays * 86_400;
  const retention = proto.google.protobuf.Duration.fromObject({ seconds });
  const svc = connection.workflowService;
  try {
    const ns = await svc.describeNamespace({ namespace });
    const current = Number(ns.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
    if (current !== seconds) {
      await svc.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: retention } });
    }
  } catch (err) {
    if ((err as { code?: number }).code !== 5) throw err; // 5 = NOT_FOUND
    await svc.registerNamespace({ namespace, workflowExecutionRetentionPeriod: retention });
  }
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = searchAttributeNames.filter((n) => !(n in (existing.customAttributes ?? {})));
  if (missing.length > 0) {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((n) => [n, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
    });
  }
}
