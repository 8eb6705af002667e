import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

/** A write lock on a SQLite file, held by another process until `release()`. */
export interface HeldLock {
  release(): Promise<void>;
}

// The child opens the same file the way an operator's shell or a second worker would, and holds an
// open exclusive transaction until told to commit.
const HOLDER = `
const db = new (require('better-sqlite3'))(process.argv[1]);
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\\n');
process.stdin.once('data', () => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); });
`;

export async function holdWriteLock(file: string): Promise<HeldLock> {
  const child = spawn(process.execPath, ['-e', HOLDER, file], { cwd: new URL('../..', import.meta.url).pathname, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (expected: string) => {
    const line = await lines.next();
    if (line.value !== expected) throw new Error(`the lock holder said ${JSON.stringify(line.value)}, expected ${expected}`);
  };
  await next('locked');
  return {
    async release() {
      child.stdin.end('go\n');
      await next('released');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}
