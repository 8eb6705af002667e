import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/**
 * A committed generated file (the client's schema, the API reference) must be what its generator
 * makes today: fails naming the file, the command that regenerates it and the first line that differs.
 */
export function assertGeneratedFresh(file: string, name: string, fresh: string, command: string): void {
  const committed = readFileSync(file, 'utf8');
  if (committed === fresh) return;
  const a = committed.split('\n');
  const b = fresh.split('\n');
  const line = a.findIndex((l, i) => l !== b[i]);
  assert.fail(
    `${name} is stale: run \`${command}\` and commit it.\n` +
      `First difference at line ${line + 1}:\n  committed: ${a[line] ?? '(end of file)'}\n  generated: ${b[line] ?? '(end of file)'}`,
  );
}
