import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadKeyRing } from '../../src/crypto/keyring.ts';
import { createStore, type KyselyStore } from '../../src/store/index.ts';
import { pumpStream } from '../../src/streams/sse.ts';

// The live stream's pump over a real socket and the real store: a reader that stops reading makes it
// stop reading the store, so the API never holds more than a batch beyond what the socket took.

const MESSAGES = 600;
const BODY = 'x'.repeat(32 * 1024);

let dir: string;
let store: KyselyStore;
let destinationId: string;
let server: Server;
let fromStore = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'voiceoi-sse-'));
  store = await createStore({ file: join(dir, 'voiceoi.db'), keyRing: loadKeyRing({ dataDir: dir }) });
  const account = await store.accounts.create('Slow reader BPO');
  destinationId = (await store.destinations.create(account.id, { url: '', mode: 'pull', event_types: ['*'] })).id;
  for (let n = 1; n <= MESSAGES; n++) {
    await store.messages.append({
      accountId: account.id,
      destinationId,
      deliveryId: `delivery:${destinationId}:evt_${n}`,
      eventId: `evt_${n}`,
      eventType: 'call_completed',
      headers: { 'webhook-id': `evt_${n}`, 'webhook-timestamp': '1', 'webhook-signature': 'v1,x' },
      body: BODY,
    });
  }
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    pumpStream(res, destinationId, '0', {
      // The real store, counted: how many messages the pump took out of it.
      messages: {
        page: async (id, cursor, limit) => {
          const batch = await store.messages.page(id, cursor, limit);
          fromStore += batch.scanned;
          return batch;
        },
      },
      wakeups: store.wakeups,
      heartbeatMs: 60_000,
      stillThere: async () => true,
      renew: async () => {},
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
after(async () => {
  server.closeAllConnections();
  server.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a reader that stops reading stops the reads from the store; when it reads again it gets every message, in order', async () => {
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n');
  // Read the first bytes, then stop: the kernel's buffers fill and the server's writes start answering false.
  await new Promise<void>((r) => socket.once('data', () => r()));
  socket.pause();
  await new Promise((r) => setTimeout(r, 1500));
  const heldBack = fromStore;
  assert.ok(heldBack < MESSAGES / 2, `the pump read ${heldBack} of ${MESSAGES} messages (about ${Math.round((heldBack * BODY.length) / 1e6)} MB) for a reader that stopped`);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(fromStore, heldBack, 'and read no more while it stayed stopped');

  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString()));
  socket.resume();
  const deadline = Date.now() + 20_000;
  while (!text.includes(`id: ${MESSAGES}\n`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  socket.destroy();
  const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  // The ids after the pause follow on from those before it (received before the pause are not in `text`).
  assert.ok(ids.length > 0);
  assert.deepEqual(ids, Array.from({ length: ids.length }, (_, i) => MESSAGES - ids.length + 1 + i));
  assert.equal(fromStore, MESSAGES);
});
