// How long a warm `npm start` takes to be ready: spawn → `/healthz` 200 (the API listens only once the
// worker polls), on one data directory kept between runs (the dev server's database, the build, the
// console all exist already: the second start of a day, not the first install). Every port is a free
// one (TEMPORAL_PORT and the rest), so it runs beside another `npm start`.
//   node --no-node-snapshot --import tsx bench/startup.ts [runs=5]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../src/temporal/dev-server.ts';
import { loadavg } from './lib/proc.ts';
import { repoRoot } from './lib/processes.ts';
import { summarize } from './lib/stats.ts';

const runs = Number(process.argv[2] ?? 5);
const dataDir = mkdtempSync(join(tmpdir(), 'voiceoi-startup-'));

async function startOnce(): Promise<number> {
  const [port, temporalPort, httpPort, uiPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const t0 = performance.now();
  const child = spawn('npm', ['start', '--silent'], {
    cwd: repoRoot,
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, PORT: String(port), VOICEOI_DATA_DIR: dataDir, TEMPORAL_PORT: String(temporalPort), TEMPORAL_HTTP_PORT: String(httpPort), TEMPORAL_UI_PORT: String(uiPort), LOG_LEVEL: 'warn' },
  });
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited (${child.exitCode}) before it was ready`);
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
      if (ok) return (performance.now() - t0) / 1000;
      if (performance.now() - t0 > 120_000) throw new Error('not ready within 120 s');
      await sleep(10);
    }
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await Promise.race([exited, sleep(15_000).then(() => process.kill(-child.pid!, 'SIGKILL'))]);
  }
}

try {
  await startOnce(); // the cold one: creates the dev server's database and brings dist/ up to date
  const seconds: number[] = [];
  const load0 = loadavg();
  for (let i = 0; i < runs; i++) seconds.push(await startOnce());
  const s = summarize(seconds);
  const line = `warm npm start, spawn → /healthz 200, ${runs} runs: ${seconds.map((x) => x.toFixed(2)).join(' / ')} s (p50 ${s.p50.toFixed(2)} s); load ${load0.join(' ')} → ${loadavg().join(' ')}`;
  process.stdout.write(`${line}\n`);
  if (process.env.STARTUP_OUT) writeFileSync(process.env.STARTUP_OUT, `${line}\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
