import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { callAt } from './support/api.ts';
import { signIn } from './support/console-session.ts';
import { callCompleted } from './support/events.ts';
import { startReceiver, type Receiver } from './support/receiver.ts';
import { startReplica, type ProductProcess } from './support/product-process.ts';
import { eventually } from './support/stack.ts';
import { freeTemporalPort } from './support/temporal-ports.ts';

// Two installs side by side on one machine, each as a developer starts it (`npm start`: its own
// Temporal dev server, worker and API), told apart by TEMPORAL_PORT, PORT and VOICEOI_DATA_DIR only.
// Neither uses the defaults (7233, 8233, 3000): the machine's own `npm start` may be running.

describe('two instances on one machine: npm start with its own TEMPORAL_PORT, PORT and data directory', () => {
  const dirs: string[] = [];
  const admin = `admin-${randomBytes(16).toString('hex')}`;
  let receiver: Receiver;
  const instances: { proc: ProductProcess; temporalPort: number }[] = [];

  before(async () => {
    receiver = await startReceiver();
    const taken = new Set<number>();
    const ports = [await freeTemporalPort(taken), await freeTemporalPort(taken)];
    const started = await Promise.allSettled(
      ports.map((temporalPort) => {
        const dir = mkdtempSync(join(tmpdir(), 'voiceoi-instance-'));
        dirs.push(dir);
        return startReplica('start', {
          TEMPORAL_PORT: String(temporalPort),
          VOICEOI_DATA_DIR: dir,
          VOICEOI_ADMIN_TOKEN: admin,
          // The console is not under test: an empty directory, so no instance starts a console build.
          VOICEOI_CONSOLE_DIR: dir,
          VOICEOI_ALLOWED_NETWORKS: '127.0.0.0/8',
          LOG_LEVEL: 'warn',
          ...(process.env.VOICEOI_TEST_BUNDLE ? { VOICEOI_WORKFLOW_BUNDLE: process.env.VOICEOI_TEST_BUNDLE } : {}),
        }).then((proc) => ({ proc, temporalPort }));
      }),
    );
    for (const s of started) if (s.status === 'fulfilled') instances.push(s.value);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  });
  after(async () => {
    await Promise.all(instances.map((i) => i.proc.stop()));
    await receiver?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const call = (base: string, method: string, path: string, token: string, body?: unknown) => callAt(base, method, path, { token, body });

  test('each runs its own dev server on its TEMPORAL_PORT and delivers its own events', async () => {
    for (const [i, { proc, temporalPort }] of instances.entries()) {
      await eventually(async () => proc.output().includes('VoiceOI Hooks is running'), 'the start banner');
      // The banner names the dev server it started: its gRPC port, and its UI on the derived port.
      assert.match(proc.output(), new RegExp(`Temporal: 127\\.0\\.0\\.1:${temporalPort},`));
      assert.match(proc.output(), new RegExp(`Temporal UI  http://127\\.0\\.0\\.1:${temporalPort + 1000}/`));
      const account = await call(proc.url, 'POST', '/v1/accounts', admin, { name: `Instance ${i + 1}` });
      assert.equal(account.status, 201, JSON.stringify(account.body));
      const key = account.body.api_key as string;
      const dest = await call(proc.url, 'POST', '/v1/destinations', key, { url: `${receiver.url}/instance-${i + 1}`, event_types: ['call_completed'] });
      assert.equal(dest.status, 201, JSON.stringify(dest.body));
      assert.equal((await call(proc.url, 'POST', '/v1/events', key, callCompleted(`evt_instance_${i + 1}`))).status, 202);
    }
    const received = await receiver.waitFor(2, 60_000);
    assert.deepEqual(received.map((r) => [r.url, r.headers['webhook-id']]).sort(), [
      ['/instance-1', 'evt_instance_1'],
      ['/instance-2', 'evt_instance_2'],
    ]);
  });

  test("the console of each links to its own instance's Temporal UI", async () => {
    for (const { proc, temporalPort } of instances) {
      const key = (await call(proc.url, 'POST', '/v1/accounts', admin, { name: 'Console' })).body.api_key as string;
      const session = await signIn({ url: proc.url, call: (method, path, o) => callAt(proc.url, method, path, o) }, key);
      const info = await callAt(proc.url, 'GET', '/v1/session', { headers: session.cookie });
      assert.equal(info.body.temporal_ui_url, `http://127.0.0.1:${temporalPort + 1000}`);
    }
  });

  test("a destination at an instance's own Temporal ports (gRPC, HTTP API, UI: the derived ones) is refused by that instance", async () => {
    for (const { proc, temporalPort } of instances) {
      const key = (await call(proc.url, 'POST', '/v1/accounts', admin, { name: 'Probe' })).body.api_key as string;
      const own: [number, RegExp][] = [
        [temporalPort, /own Temporal frontend \(gRPC\)/],
        [temporalPort + 10, /own Temporal frontend \(HTTP API\)/],
        [temporalPort + 1000, /own Temporal UI \(TEMPORAL_UI_PORT\)/],
      ];
      for (const [port, listener] of own) {
        const r = await call(proc.url, 'POST', '/v1/destinations', key, { url: `http://127.0.0.1:${port}/api/v1/namespaces`, event_types: ['call_completed'] });
        assert.equal(r.status, 400, `port ${port}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.code, 'destination_address_refused');
        assert.match(r.body.message, listener);
      }
    }
  });
});
