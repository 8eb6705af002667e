import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuSeconds, memory, parseCpuSeconds, parseMachineCpu, parseMemory } from '../../bench/lib/proc.ts';

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
