import type { TestApi } from './api.ts';

// One factory per resource a test sets up through the API (the account's is createAccount on the
// stack or api). Each answers the created resource and fails the test set-up with the API's own
// answer when creation is refused: a test about refusals calls the route itself.

export type Caller = Pick<TestApi, 'call'>;

async function created(api: Caller, path: string, token: string, body: unknown): Promise<any> {
  const r = await api.call('POST', path, { token, body });
  if (r.status !== 201) throw new Error(`POST ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

export type CreatedDestination = { id: string; signing_secret: string; mapping_version: number | null; [field: string]: any };

/** POST /v1/destinations: subscribed to call_completed unless `body` says otherwise. */
export const createDestination = (api: Caller, token: string, body: { url: string; [field: string]: unknown }): Promise<CreatedDestination> =>
  created(api, '/v1/destinations', token, { event_types: ['call_completed'], ...body });

export type CreatedMapping = { id: string; version: number; [field: string]: any };

/** POST /v1/mappings: JSONata unless `body` names another language. */
export const createMapping = (api: Caller, token: string, body: { source: string; name?: string; language?: 'jsonata' | 'typescript'; [field: string]: unknown }): Promise<CreatedMapping> =>
  created(api, '/v1/mappings', token, { name: 'mapping', language: 'jsonata', ...body });

export type CreatedConnection = { id: string; kind: string; status: string; [field: string]: any };

/** POST /v1/connections: `body` is the kind and its fields; named after its kind unless it has a name. */
export const createConnection = (api: Caller, token: string, body: { kind: string; name?: string; [field: string]: unknown }): Promise<CreatedConnection> =>
  created(api, '/v1/connections', token, { name: body.kind, ...body });
