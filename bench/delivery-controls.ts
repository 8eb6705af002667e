// What each delivery control costs per delivery: CPU (product process and Temporal server), history
// events and Temporal actions, counted from the real histories of the deliveries and their gates.
//   none       no control
//   rate_limit rate_limit_per_s high enough that nothing waits: the permit round trip only
//   per_call   ordering: "per_call", five events per call
//
//   node --no-node-snapshot --import tsx bench/delivery-controls.ts [deliveries=60]
//
// Own in-memory Temporal dev server, own data dir, loopback receiver; writes bench/results/delivery-controls.md.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config.ts';
import { buildApi, createSharedClient, createCore, startWorker } from '../src/runtime.ts';
import { targetFromConfig } from '../src/temporal/connection.ts';
import { startDevServer } from '../src/temporal/dev-server.ts';
import { limiterId, sequencerId } from '../src/temporal/gates.ts';
import { callCompleted } from '../test/support/events.ts';
import { countHistory, totalActions } from './lib/history-count.ts';
import { cpuSeconds } from './lib/proc.ts';

const n = Number(process.argv[2] ?? 60);
const root = resolve(import.meta.dirname, '..');
const CALL_SIZE = 5;

async function main(): Promise<void> {
  const dev = await startDevServer({ namespace: 'default', headless: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-bench-controls-'));
  let arrived = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrived++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;
  const admin = `admin-${randomBytes(12).toString('hex')}`;
  const config = loadConfig({ VOICEOI_DATA_DIR: dataDir, VOICEOI_ADMIN_TOKEN: admin, LOG_LEVEL: 'warn', TEMPORAL_ADDRESS: dev.address, VOICEOI_ALLOWED_NETWORKS: '127.0.0.0/8' });
  const core = await createCore(config);
  const target = targetFromConfig(config, dev.address);
  // As `npm start` runs: API and worker in one process on one connection (eager start).
  const { client, connection } = await createSharedClient(core, target);
  const worker = await startWorker(core, target, { sharedConnection: connection });
  const api = await buildApi(core, client, { eagerStart: true });
  await api.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
  const call = async (method: string, path: string, token: string, body?: unknown) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return (await res.json()) as Record<string, any>;
  };
  const count = async (workflowId: string) => {
    const c = countHistory(await client.workflow.getHandle(workflowId).fetchHistory());
    return { events: c.events, actions: totalActions(c) };
  };

  const rows: { mode: string; cpuMs: number; serverCpuMs: number; events: number; actions: number; gateEvents: number; gateActions: number; ms: number }[] = [];
  try {
    for (const mode of ['warm-up', 'none', 'rate_limit', 'per_call'] as const) {
      const key = (await call('POST', '/v1/accounts', admin, { name: mode })).api_key as string;
      const controls = mode === 'rate_limit' ? { rate_limit_per_s: 1000 } : mode === 'per_call' ? { ordering: 'per_call' } : {};
      const dest = (await call('POST', '/v1/destinations', key, { url: receiverUrl, event_types: ['call_completed'], ...controls })).id as string;
      const calls = new Set<string>();
      const ids: string[] = [];
      arrived = 0;
      const cpu0 = process.cpuUsage();
      const server0 = dev.pid ? cpuSeconds(dev.pid) : undefined;
      const t0 = performance.now();
      // Open loop at 20 events/s: ingest does not wait for deliveries, as producers do not.
      const sends: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const callId = `call_${mode}_${Math.floor(i / CALL_SIZE)}`;
        calls.add(callId);
        const id = `evt_${mode}_${String(i).padStart(4, '0')}`;
        sends.push(
          call('POST', '/v1/events', key, callCompleted(id, { call_id: callId })).then((r) => {
            ids[i] = r.deliveries[0].id as string;
          }),
        );
        await new Promise((r) => setTimeout(r, 50));
      }
      await Promise.all(sends);
      while (arrived < n) await new Promise((r) => setTimeout(r, 20));
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const server1 = dev.pid ? cpuSeconds(dev.pid) : undefined;
      // The gates complete a little after their last delivery: count them once they have.
      await new Promise((r) => setTimeout(r, 1000));
      let events = 0;
      let actions = 0;
      for (const id of ids) {
        const c = await count(id);
        events += c.events;
        actions += c.actions;
      }
      const gates = mode === 'rate_limit' ? [limiterId(dest)] : mode === 'per_call' ? [...calls].map((c) => sequencerId(dest, c)) : [];
      let gateEvents = 0;
      let gateActions = 0;
      for (const g of gates) {
        const c = await count(g);
        gateEvents += c.events;
        gateActions += c.actions;
      }
      if (mode === 'warm-up') continue;
      rows.push({
        mode,
        cpuMs: (cpu.user + cpu.system) / 1000 / n,
        serverCpuMs: server0 !== undefined && server1 !== undefined ? ((server1 - server0) * 1000) / n : NaN,
        events: events / n,
        actions: actions / n,
        gateEvents: gateEvents / n,
        gateActions: gateActions / n,
        ms,
      });
      process.stdout.write(`${JSON.stringify(rows.at(-1))}\n`);
    }
  } finally {
    await api.close();
    await worker.stop();
    await connection.close();
    await core.store.close();
    await core.engine.close();
    await dev.stop();
    receiver.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const none = rows.find((r) => r.mode === 'none')!;
  const f = (x: number) => x.toFixed(1);
  const md = [
    '# What each delivery control costs per delivery',
    '',
    `\`node --no-node-snapshot --import tsx bench/delivery-controls.ts ${n}\`, ${new Date().toISOString().slice(0, 10)}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} at the end (shared machine).`,
    `${n} events per mode at 20/s, in-memory Temporal dev server, API and worker in one process (eager start), loopback receiver answering 204; per_call: ${CALL_SIZE} events per call; rate_limit: 1000/s (nothing waits).`,
    'CPU: this process (API + worker) and the Temporal server, per delivery. Events and actions: from the real histories',
    '(`fetchHistory()`) of every delivery and of its gate workflows (limiter, sequencers), per delivery.',
    '',
    '| control | product CPU ms | server CPU ms | delivery history events | gate history events | actions (delivery + gate) | extra events | extra actions |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.mode} | ${f(r.cpuMs)} | ${f(r.serverCpuMs)} | ${f(r.events)} | ${f(r.gateEvents)} | ${f(r.actions)} + ${f(r.gateActions)} | ${f(r.events + r.gateEvents - none.events)} | ${f(r.actions + r.gateActions - none.actions)} |`,
    ),
    '',
    "Actions: Temporal Cloud's published definition, counted by bench/lib/history-count.ts (as bench/cost.ts counts):",
    'the markers of one workflow task are one action (patch markers included), upserts that only set',
    "TemporalChangeVersion are free, a signal is billed once, in the history that receives it, and the API's",
    'signalWithStart is one action for the start and the signal it records.',
  ].join('\n');
  writeFileSync(join(root, 'bench/results/delivery-controls.md'), `${md}\n`);
  process.stdout.write(`${md}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
