import { spawnSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { repoRoot } from './processes.ts';

/** The machine a result was measured on, for the report's header. */
export function machine(temporalCli: string): Record<string, string | number> {
  const version = spawnSync(temporalCli, ['--version'], { encoding: 'utf8' }).stdout.trim();
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    temporal: version.replace(/^temporal version /, ''),
  };
}

/** The checkout's commit, `+uncommitted` when its tree differs; 'unknown' outside a git checkout. */
export function gitCommit(root = repoRoot): string {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) return 'unknown';
  const dirty = spawnSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' }).stdout.trim() ? '+uncommitted' : '';
  return `${r.stdout.trim() || 'unknown'}${dirty}`;
}
