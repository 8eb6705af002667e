import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { cpuSeconds, memory, parseComm, parseCpuSeconds, parseMachineCpu, parseMemory, threadCpu, threadKind, treeCpuSeconds } from '../../bench/lib/proc.ts';

test('parseCpuSeconds adds utime and stime, even when the command name has spaces and parentheses', () => {
  const stat = '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 900 1000000 5000';
  assert.equal(parseCpuSeconds(stat, 100), 3);
});

test('parseMemory reads VmRSS and VmHWM in MiB', () => {
  const status = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t12\n';
  assert.deepEqual(parseMemory(status), { rssMiB: 100, hwmMiB: 200 });
});

test('parseMachineCpu counts idle and iowait as not busy', () => {
  assert.deepEqual(parseMachineCpu('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3'), { busy: 150, total: 1000 });
});

test('this process can be read from /proc', () => {
  assert.ok((cpuSeconds(process.pid) ?? -1) >= 0);
  assert.ok((memory(process.pid)?.rssMiB ?? 0) > 1);
  assert.equal(cpuSeconds(2 ** 30), undefined);
});

test('parseComm reads the thread name and threadKind folds numbered pools into one kind', () => {
  assert.equal(parseComm('77 (tokio-runtime-w) S 1 2 3'), 'tokio-runtime-w');
  assert.equal(parseComm('78 (V8 DefaultWorke) S 1'), 'V8 DefaultWorke');
  assert.equal(threadKind('libuv-worker-3'), 'libuv-worker');
  assert.equal(threadKind('node'), 'node');
});

test('threadCpu sums this process\'s threads by kind; treeCpuSeconds includes a busy child', async () => {
  const own = threadCpu(process.pid);
  assert.ok(Object.keys(own).length > 0);
  assert.ok(Object.values(own).every((v) => v >= 0));
  // Busy for 1 s of its own CPU, however loaded the machine: the wait below always ends.
  const child = spawn(process.execPath, ['-e', 'while (process.cpuUsage().user < 1e6);']);
  const exited = new Promise((r) => child.once('exit', r));
  // Alive: its own CPU time is in the tree.
  // Past 0.3 s of its own, so the sums below (clock ticks as binary fractions) clear 0.2 with room.
  while ((cpuSeconds(child.pid!) ?? 0) < 0.3) await new Promise((r) => setTimeout(r, 20));
  // This process's own time is read first: what the tree adds on top can only be its descendants'.
  const selfBefore = cpuSeconds(process.pid)!;
  const alive = treeCpuSeconds(process.pid)! - selfBefore;
  assert.ok(alive >= 0.2, `descendants ${alive} s while the child runs`);
  // Reaped: its time moved to this process's cutime + cstime, still in the tree.
  await exited;
  const selfAfter = cpuSeconds(process.pid)!;
  const reaped = treeCpuSeconds(process.pid)! - selfAfter;
  assert.ok(reaped >= 0.2, `descendants ${reaped} s after the child exited`);
  assert.equal(treeCpuSeconds(2 ** 30), undefined);
});
