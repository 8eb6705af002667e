import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { Config } from '../config.ts';

export interface TemporalTarget {
  address: string;
  namespace: string;
  tls: boolean;
  apiKey?: string;
}

export const targetFromConfig = (config: Config, address: string): TemporalTarget => ({
  address,
  namespace: config.TEMPORAL_NAMESPACE,
  tls: config.TEMPORAL_TLS || Boolean(config.TEMPORAL_API_KEY),
  apiKey: config.TEMPORAL_API_KEY,
});

function options(t: TemporalTarget): ConnectionOptions & NativeConnectionOptions {
  return { address: t.address, tls: t.tls ? {} : undefined, apiKey: t.apiKey };
}

export async function connectClient(t: TemporalTarget, dataConverter: DataConverter): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect(options(t));
  return { client: new Client({ connection, namespace: t.namespace, dataConverter }), connection };
}

export const connectWorker = (t: TemporalTarget): Promise<NativeConnection> => NativeConnection.connect(options(t));
