import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import ts from 'typescript';
import { projectRoot } from '../../src/build/layout.ts';

// `voiceoi-hooks/client` as an integrator gets it: resolved through package.json `exports` to the
// build (test/run.ts brings dist/ up to date first), JS for Node and declarations for the compiler.

test('voiceoi-hooks/client resolves to the built client and runs', async () => {
  const resolved = fileURLToPath(import.meta.resolve('voiceoi-hooks/client'));
  assert.equal(resolved, join(projectRoot, 'dist', 'src', 'client', 'index.js'));
  const mod = (await import('voiceoi-hooks/client' as string)) as Record<string, unknown>;
  for (const name of ['createClient', 'unwrap', 'paginate', 'streamMessages', 'verifyWebhook', 'VoiceoiApiError', 'WebhookVerificationError']) {
    assert.equal(typeof mod[name], 'function', `${name} is exported`);
  }
});

const consumerDir = mkdtempSync(join(tmpdir(), 'voiceoi-client-consumer-'));
after(() => rmSync(consumerDir, { recursive: true, force: true }));

test("its declarations type a consumer's calls: right ones compile, wrong paths and values do not", () => {
  mkdirSync(join(consumerDir, 'node_modules'));
  symlinkSync(projectRoot, join(consumerDir, 'node_modules', 'voiceoi-hooks'));
  const file = join(consumerDir, 'consumer.ts');
  writeFileSync(
    file,
    `import { createClient, paginate, unwrap, verifyWebhook, VoiceoiApiError } from 'voiceoi-hooks/client';
const client = createClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: 'vk_example' });
export async function failedIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const d of paginate(client, '/v1/deliveries', { params: { query: { status: 'failed' } } })) ids.push(d.id);
  return ids;
}
export const created = unwrap(client.POST('/v1/destinations', { body: { url: 'https://crm.example/hook', event_types: ['call_completed'] } })).then((d) => d.id);
export const check = (body: string, headers: Headers) => verifyWebhook({ headers, body, secret: 'whsec_x' }).then((v) => v.id);
export const isApiError = (e: unknown): string | undefined => (e instanceof VoiceoiApiError ? e.code : undefined);
// @ts-expect-error: no such path
export const wrongPath = client.GET('/v1/no-such-route');
// @ts-expect-error: not a delivery status
export const wrongStatus = client.GET('/v1/deliveries', { params: { query: { status: 'lost' } } });
// @ts-expect-error: a destination has no such field
export const wrongField = unwrap(client.GET('/v1/destinations/{id}', { params: { path: { id: 'dst_1' } } })).then((d) => d.no_such_field);
`,
  );
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.asynciterable.d.ts'],
    types: [],
  });
  const problems = ts.getPreEmitDiagnostics(program).map((d) => `${d.file?.fileName ?? ''}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  assert.deepEqual(problems, []);
});
