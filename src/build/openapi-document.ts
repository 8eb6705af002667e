import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { loadConfig } from '../config.ts';
import { buildApi, createCore } from '../runtime.ts';

// The OpenAPI document `GET /openapi.json` serves, built in this process without a port or a
// Temporal server: the API is assembled as `npm start` assembles it (throwaway SQLite store and data
// directory, a Temporal connection that is never opened, since building routes reaches none), asked
// for GET /openapi.json through inject and closed. The typed client (src/client/) and the API reference
// (docs/reference/api.md) are generated from it.

/** The served document, as a plain JSON value. */
export async function servedOpenApiDocument(): Promise<Record<string, unknown>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-openapi-'));
  const config = loadConfig({ VOICEOI_DATA_DIR: dataDir, VOICEOI_ADMIN_TOKEN: 'openapi-document', LOG_LEVEL: 'silent' });
  const core = await createCore(config, pino({ level: 'silent' }));
  const client = new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }), dataConverter: core.dataConverter });
  try {
    const api = await buildApi(core, client);
    try {
      // Asked of the route itself (no port): the document exactly as a client downloads it.
      const res = await api.inject({ method: 'GET', url: '/openapi.json' });
      if (res.statusCode !== 200) throw new Error(`GET /openapi.json answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
      return res.json<Record<string, unknown>>();
    } finally {
      await api.close();
    }
  } finally {
    await client.connection.close();
    await core.store.close();
    await core.engine.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
