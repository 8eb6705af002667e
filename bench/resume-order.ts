// Order and drain time of a paused destination's backlog on resume, two ways:
//   ordered   POST /v1/destinations/:id/resume (the product: resume update, one delivery at a time)
//   signalled every held delivery signalled at once, oldest first (the simple alternative)
//
//   node --no-node-snapshot --import tsx bench/resume-order.ts [held=100]
//
// Own in-memory Temporal dev server, own data dir, loopback receiver; writes bench/results/resume-order.md.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { buildApi, createClient, createCore, startWorker } from '../src/runtime.ts';
import { targetFromConfig } from '../src/temporal/connection.ts';
import { startDevServer } from '../src/temporal/dev-server.ts';
import { resumeSignal } from '../workflows/delivery.ts';

const held = Number(process.argv[2] ?? 100);
const root = resolve(import.meta.dirname, '..');

async function main(): Promise<void> {
  const dev = await startDevServer({ namespace: 'default', headless: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-bench-resume-'));
  const arrivals: { id: string; at: number }[] = [];
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.push({ id: String(req.headers['webhook-id']), at: performance.now() });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  const admin = `admin-${randomBytes(12).toString('hex')}`;
  const config = loadConfig({ VOICEOI_DATA_DIR: dataDir, VOICEOI_ADMIN_TOKEN: admin, LOG_LEVEL: 'warn', TEMPORAL_ADDRESS: dev.address, VOICEOI_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const core = await createCore(config);
  const target = targetFromConfig(config, dev.address);
  const { client, connection } = await createClient(core, target);
  const worker = await startWorker(core, target);
  const api = await buildApi(core, client);
  await api.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return (await res.json()) as Record<string, any>;
  };

  const rows: string[] = [];
  try {
    for (const mode of ['signalled', 'ordered'] as const) {
      const key = (await call('POST', '/v1/accounts', admin, { name: mode })).api_key as string;
      const dest = (await call('POST', '/v1/destinations', key, { url: receiverUrl, event_types: ['voice_detected'] })).id as string;
      await call('POST', `/v1/destinations/${dest}/pause`, key);
      const eventIds = Array.from({ length: held }, (_, i) => `${mode}-${String(i).padStart(5, '0')}`);
      const deliveryIds: string[] = [];
      for (const id of eventIds) {
        const r = await call('POST', '/v1/events', key, { id, type: 'voice_detected', occurred_at: new Date().toISOString(), data: { call_id: id, channel: 'caller', at_s: 1 } });
        deliveryIds.push(r.deliveries[0].id);
      }
      for (;;) {
        const states = await Promise.all(deliveryIds.map((id) => call('GET', `/v1/deliveries/${encodeURIComponent(id)}`, key)));
        if (states.every((s) => s.reason === "destination paused")) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      arrivals.length = 0;
      const t0 = performance.now();
      if (mode === 'ordered') {
        await call('POST', `/v1/destinations/${dest}/resume`, key);
      } else {
        await core.store.destinations.update((await core.store.destinations.getById(dest))!.account_id, dest, { paused: false });
        await Promise.all(deliveryIds.map((id) => client.workflow.getHandle(id).signal(resumeSignal)));
      }
      while (arrivals.filter((a) => a.id.startsWith(mode)).length < held) await new Promise((r) => setTimeout(r, 20));
      const got = arrivals.filter((a) => a.id.startsWith(mode));
      const ms = got.at(-1)!.at - t0;
      let inversions = 0;
      for (let i = 0; i < got.length; i++) for (let j = i + 1; j < got.length; j++) if (got[i]!.id > got[j]!.id) inversions++;
      const displaced = got.filter((a, i) => a.id !== eventIds[i]).length;
      const pairs = (held * (held - 1)) / 2;
      rows.push(`| ${mode} | ${held} | ${inversions} of ${pairs} | ${displaced} | ${Math.round(ms)} | ${((held / ms) * 1000).toFixed(1)} |`);
      process.stdout.write(`${rows.at(-1)}\n`);
    }
  } finally {
    await api.close();
    await worker.stop();
    await connection.close();
    await core.store.close();
    await dev.stop();
    receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const md = [
    '# Resume order of a paused destination',
    '',
    `\`node --no-node-snapshot --import tsx bench/resume-order.ts ${held}\`, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} at the end (shared machine).`,
    'In-memory Temporal dev server, one worker, loopback receiver answering 204 at once.',
    '',
    '| mode | held | inverted pairs | out of place | drain ms | deliveries/s |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    '- **signalled**: every held delivery signalled at once, oldest first: the attempts race.',
    '- **ordered**: what `POST /v1/destinations/:id/resume` does: a resume update to one held delivery at a time,',
    '  oldest first, each answering once its attempt is done.',
  ].join('\n');
  writeFileSync(join(root, 'bench/results/resume-order.md'), `${md}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
