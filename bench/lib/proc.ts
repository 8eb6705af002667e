import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

// Resource accounting from /proc (Linux): CPU time and resident memory of the processes under test,
// plus the whole machine's load, so that a noisy neighbour shows up in the results.

let clockTicks: number | undefined;
/** USER_HZ: the unit of the CPU times in /proc/<pid>/stat. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    clockTicks = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

/** utime + stime of a process in seconds, from the text of /proc/<pid>/stat. */
export function parseCpuSeconds(statText: string, ticks: number): number {
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const rest = statText.slice(statText.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so utime (field 14) is rest[11] and stime (field 15) rest[12].
  return (Number(rest[11]) + Number(rest[12])) / ticks;
}

/** VmRSS and VmHWM (peak resident set) in MiB, from the text of /proc/<pid>/status. */
export function parseMemory(statusText: string): { rssMiB: number; hwmMiB: number } {
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(statusText)?.[1] ?? Number.NaN);
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

/** Busy and total jiffies of the whole machine, from the text of /proc/stat. */
export function parseMachineCpu(statText: string): { busy: number; total: number } {
  const fields = statText.split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process has exited
  }
};

export const cpuSeconds = (pid: number): number | undefined => {
  const t = read(`/proc/${pid}/stat`);
  return t === undefined ? undefined : parseCpuSeconds(t, ticksPerSecond());
};
export const memory = (pid: number): { rssMiB: number; hwmMiB: number } | undefined => {
  const t = read(`/proc/${pid}/status`);
  return t === undefined ? undefined : parseMemory(t);
};
export const machineCpu = () => parseMachineCpu(read('/proc/stat') ?? 'cpu 0 0 0 0 0 0 0 0');
export const loadavg = (): number[] => (read('/proc/loadavg') ?? '0 0 0').split(' ').slice(0, 3).map(Number);

export interface ProcessUsage {
  /** Share of one core over the window, in percent (200 % = both cores of this machine). */
  cpuPct: number;
  /** Highest VmRSS seen by the sampler during the window. */
  peakRssMiB: number;
  /** VmHWM at the end of the window: the peak since the process started. */
  hwmMiB: number;
}

export interface WindowUsage {
  seconds: number;
  processes: Record<string, ProcessUsage>;
  /** Every process of the machine, ours and everyone else's, in percent of one core. */
  machineCpuPct: number;
  loadavgStart: number[];
  loadavgEnd: number[];
}

/**
 * Samples the named processes every `everyMs` while a window is open; `end()` returns what each used.
 * The sampler's timer is unref'd and cleared on end, so it never holds the process open.
 */
export function openWindow(pids: Record<string, number>, everyMs = 250): { end(): WindowUsage } {
  const t0 = performance.now();
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuSeconds(pid) ?? 0]));
  const peak: Record<string, number> = Object.fromEntries(Object.keys(pids).map((n) => [n, 0]));
  const machine0 = machineCpu();
  const load0 = loadavg();
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const m = memory(pid);
      if (m && m.rssMiB > peak[name]!) peak[name] = m.rssMiB;
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    end() {
      clearInterval(timer);
      sample();
      const seconds = (performance.now() - t0) / 1000;
      const machine1 = machineCpu();
      const processes: Record<string, ProcessUsage> = {};
      for (const [name, pid] of Object.entries(pids)) {
        const used = (cpuSeconds(pid) ?? cpu0[name]!) - cpu0[name]!;
        processes[name] = {
          cpuPct: Math.round((used / seconds) * 1000) / 10,
          peakRssMiB: Math.round(peak[name]!),
          hwmMiB: Math.round(memory(pid)?.hwmMiB ?? Number.NaN),
        };
      }
      const dTotal = machine1.total - machine0.total;
      const cores = dTotal > 0 ? dTotal / (seconds * ticksPerSecond()) : 1;
      const machineCpuPct = dTotal > 0 ? Math.round(((machine1.busy - machine0.busy) / dTotal) * cores * 1000) / 10 : Number.NaN;
      return { seconds: Math.round(seconds * 10) / 10, processes, machineCpuPct, loadavgStart: load0, loadavgEnd: loadavg() };
    },
  };
}

/** The command name (field 2) of a /proc/<pid>/task/<tid>/stat text: the thread's name, up to 15 bytes. */
export function parseComm(statText: string): string {
  return statText.slice(statText.indexOf('(') + 1, statText.lastIndexOf(')'));
}

/**
 * A thread's name reduced to its kind: numbered pools (`tokio-runtime-w`, `V8 DefaultWorke`,
 * `libuv-worker`, `node` workers…) add up under one name.
 */
export const threadKind = (comm: string): string => comm.replace(/[\s_-]*\d+$/, '').trim() || comm;

/**
 * CPU seconds of every thread of a process, summed by thread kind: which native threads (the
 * Temporal core's tokio runtime, isolated-vm, V8's GC and compiler helpers, libuv's pool) burn what
 * the JS profiles do not show. Threads that exited before the read are not in it.
 */
export function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const t = read(`/proc/${pid}/task/${tid}/stat`);
    if (t === undefined) continue;
    const kind = threadKind(parseComm(t));
    out[kind] = (out[kind] ?? 0) + parseCpuSeconds(t, ticksPerSecond());
  }
  return out;
}

/** What each thread kind used between two `threadCpu` reads, ms. */
export function threadCpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) out[k] = Math.round((v - (before[k] ?? 0)) * 1000);
  return out;
}

/**
 * CPU seconds of a process and all its descendants (a PostgreSQL postmaster and its backends):
 * each live one's utime + stime, plus the cutime + cstime of children already reaped.
 */
export function treeCpuSeconds(root: number): number | undefined {
  const stats = new Map<number, string[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const t = read(`/proc/${d}/stat`);
    if (t !== undefined) stats.set(Number(d), t.slice(t.lastIndexOf(')') + 2).split(' '));
  }
  if (!stats.has(root)) return undefined;
  const children = new Map<number, number[]>();
  for (const [pid, f] of stats) {
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  let ticks = 0;
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    const f = stats.get(pid)!;
    // rest[11..14]: utime, stime, cutime, cstime (fields 14–17).
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks / ticksPerSecond();
}
