import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig } from '../config.ts';
import { buildApi, createCore } from '../runtime.ts';

/**
 * The OpenAPI document `/openapi.json` serves, built in this process: the real app on a throw-away
 * SQLite store, made ready but never listening, with a Temporal client that never connects (building
 * the routes reaches no Temporal). For the generated reference (docs/reference/api.md) and its test.
 */
export async function buildOpenApiDocument(): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-openapi-'));
  const config = loadConfig({ VOICEOI_DATA_DIR: dataDir, VOICEOI_ADMIN_TOKEN: 'openapi-document-only', LOG_LEVEL: 'silent' });
  const core = await createCore(config);
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:7233' }), dataConverter: core.dataConverter });
  try {
    const api = await buildApi(core, client);
    await api.ready();
    const document = api.swagger() as unknown as Record<string, unknown>;
    await api.close();
    return document;
  } finally {
    await client.connection.close();
    await core.store.close();
    await core.engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
