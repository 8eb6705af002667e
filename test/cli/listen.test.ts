import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { callCompleted } from '../support/events.ts';
import { spawnApi } from '../support/product-process.ts';
import { startReceiver, type Receiver } from '../support/receiver.ts';
import { eventually, settled, startStack, type Stack } from '../support/stack.ts';
import { createPullDestination } from '../support/streams.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

// `voiceoi listen` as a developer runs it (the package's bin, a process of its own) against the real
// API, forwarding to a real loopback receiver that verifies every request with the standardwebhooks
// package. The API is reached through a TCP proxy the test can cut, or point at a restarted API.

const bin = fileURLToPath(new URL('../../bin/voiceoi.js', import.meta.url));

interface Cli {
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  stop(): Promise<void>;
}

function startCli(args: string[], env: Record<string, string>): Cli {
  const proc = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

describe('voiceoi listen', () => {
  let stack: Stack;
  let key: string;
  let receiver: Receiver;
  let proxy: TcpProxy;
  let dest: { id: string; signing_secret: string };
  let cli: Cli;
  before(async () => {
    stack = await startStack({ VOICEOI_STREAM_HEARTBEAT_S: '1' });
    key = (await stack.createAccount()).api_key;
    receiver = await startReceiver(() => ({ status: 202 }));
    proxy = await startTcpProxy(stack.url);
    dest = await createPullDestination(stack, key);
    cli = startCli(['listen', dest.id, '--forward-to', `${receiver.url}/hook`, '--consumer', 'test-laptop'], { VOICEOI_API_URL: proxy.url, VOICEOI_API_KEY: key });
    await eventually(async () => cli.stderr().includes('Ready'), `the CLI to connect; stderr: ${cli.stderr()}`);
  });
  after(async () => {
    await cli?.stop();
    await proxy?.close();
    await receiver?.close();
    await stack?.stop();
  });

  const ingest = async (id: string) => {
    const r = await stack.call('POST', '/v1/events', { token: key, body: callCompleted(id) });
    assert.equal(r.status, 202);
    return r.body.deliveries[0].id as string;
  };
  /** Every request the receiver got verifies with the destination's secret; their event ids, in arrival order. */
  const verifiedIds = () => receiver.requests.map((r) => (new Webhook(dest.signing_secret).verify(r.body, r.headers as Record<string, string>) as { id: string }).id);

  test('--help explains the command; a missing --forward-to is refused with the usage', () => {
    const help = spawnSync(process.execPath, [bin, 'listen', '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /voiceoi listen <destination id> --forward-to <url>/);
    assert.match(help.stdout, /VOICEOI_API_KEY/);
    const bad = spawnSync(process.execPath, [bin, 'listen', 'dst_x'], { encoding: 'utf8', env: { ...process.env, VOICEOI_API_URL: 'http://127.0.0.1:1', VOICEOI_API_KEY: 'k' } });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--forward-to must be an http/);
  });

  test("a stream the API refuses for good stops the command with the server's status and code", async () => {
    // Not spawnSync: the API answering it runs in this process.
    const refused = startCli(['listen', 'dst_nope', '--forward-to', `${receiver.url}/hook`], { VOICEOI_API_URL: stack.url, VOICEOI_API_KEY: key });
    const status = await new Promise<number | null>((resolve) => refused.proc.once('exit', resolve));
    assert.equal(status, 1, refused.stderr());
    assert.match(refused.stderr(), /the API refused the stream: 404 destination_not_found: No destination with id 'dst_nope'/);
  });

  test('forwards each message signed, with its exact body, prints a line per message and acks the local answer', async () => {
    const deliveries = [];
    for (const n of [1, 2, 3]) deliveries.push(await ingest(`evt_listen_${n}`));
    await receiver.waitFor(3);
    assert.deepEqual(verifiedIds().sort(), ['evt_listen_1', 'evt_listen_2', 'evt_listen_3']);
    assert.equal(receiver.requests[0]!.url, '/hook');
    for (const id of deliveries) {
      await eventually(async () => cli.stdout().includes(id), `a line for ${id}`);
      assert.match(cli.stdout(), new RegExp(`call_completed +${id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +202 +\\d+ ms`));
      const acks = await eventually(async () => {
        const r = await stack.call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, { token: key });
        return r.body.acks?.length ? r.body.acks : undefined;
      }, `the ack of ${id}`);
      assert.equal(acks[0].status, 202);
      assert.equal(acks[0].consumer, 'test-laptop');
    }
  });

  test('after a dropped connection it says so loudly, reconnects from its last cursor, and loses and doubles nothing', async () => {
    const before = receiver.requests.length;
    proxy.refuse(true);
    proxy.cut();
    await eventually(async () => cli.stderr().includes('DISCONNECTED'), 'the CLI to report the drop');
    const ids = [await ingest('evt_drop_1'), await ingest('evt_drop_2')];
    for (const id of ids) assert.equal((await settled(stack, key, id)).status, 'delivered', 'delivered into the stream while the CLI was away');
    proxy.refuse(false);
    await receiver.waitFor(before + 2, 30_000);
    await eventually(async () => cli.stderr().includes('RECONNECTED'), 'the CLI to report it is back');
    await new Promise((r) => setTimeout(r, 1500));
    const seen = verifiedIds();
    assert.equal(seen.length, before + 2, 'nothing forwarded twice');
    assert.equal(new Set(seen).size, seen.length);
    assert.deepEqual(seen.slice(before).sort(), ['evt_drop_1', 'evt_drop_2']);
  });

  test('after kill -9 of the API it reconnects to the restarted API and resumes exactly where it was', async () => {
    let api = await spawnApi(stack);
    try {
      proxy.target(api.url);
      proxy.cut();
      await ingest('evt_kill_0');
      await eventually(async () => (verifiedIds().includes('evt_kill_0') ? true : undefined), 'the message through the spawned API');
      const start = receiver.requests.length;
      await api.kill();
      const ids = [await ingest('evt_kill_1'), await ingest('evt_kill_2')];
      for (const id of ids) await settled(stack, key, id);
      api = await spawnApi(stack);
      proxy.target(api.url);
      await receiver.waitFor(start + 2, 60_000);
      await new Promise((r) => setTimeout(r, 1500));
      const seen = verifiedIds();
      assert.equal(new Set(seen).size, seen.length, 'nothing forwarded twice');
      assert.deepEqual(seen.slice(start).sort(), ['evt_kill_1', 'evt_kill_2']);
    } finally {
      await api.kill();
    }
  });
});
