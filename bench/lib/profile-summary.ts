// Where a process's JavaScript CPU goes: V8 .cpuprofile files (node --cpu-prof, one per thread) summed
// by self time per module — node_modules/<package>, src/<file> (and workflows/, sandboxes/, bench/),
// node internals, the garbage collector, the Temporal core bridge — and per function. Only JS threads
// are in a .cpuprofile: the Rust core's threads, isolated-vm's isolates and V8's helper threads are
// not (bench/lib/proc.ts `threadCpu` counts those from /proc).
//
//   npx tsx bench/lib/profile-summary.ts /tmp/prof [more files or dirs] [--from-s 12 --to-s 42] [--top 25] [--per N]
//
// --from-s/--to-s keep the samples of a window, in seconds after the earliest profile's start (so the
// start-up's transpiling and bundling can be left out); --from-us/--to-us take the monotonic clock
// (process.hrtime, µs), which is the clock V8 stamps profiles with. --per N divides by N deliveries.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  parent?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export type Category = 'ours' | 'package' | 'core bridge' | 'node internals' | 'gc' | 'vm/native' | 'workflow bundle' | 'idle';

export interface ModuleRow {
  module: string;
  category: Category;
  selfMs: number;
}
export interface FunctionRow {
  fn: string;
  module: string;
  selfMs: number;
}
export interface ThreadSummary {
  file: string;
  thread: string;
  /** Wall time the kept samples span, ms. */
  spanMs: number;
  /** Sampled time not idle, ms: this thread's JS, GC and native calls made from JS. */
  busyMs: number;
  modules: ModuleRow[];
  functions: FunctionRow[];
  /** Our files' inclusive time (each sample counted once per file on its stack), ms. */
  oursInclusive: ModuleRow[];
}

const OUR_DIRS = ['src', 'workflows', 'sandboxes', 'bench', 'test'];

/** The module a call frame belongs to, and its category. */
export function moduleOf(frame: CallFrame): { module: string; category: Category } {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(idle)') return { module: '(idle)', category: 'idle' };
    if (functionName === '(garbage collector)') return { module: '(garbage collector)', category: 'gc' };
    if (functionName === '(program)') return { module: '(program: V8 and native outside a JS frame)', category: 'vm/native' };
    return { module: '(V8 builtins and native functions)', category: 'vm/native' };
  }
  if (url.startsWith('node:')) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return { module: `node:${m?.[1] ?? url.slice(5)}`, category: 'node internals' };
  }
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
    if (pkg === '@temporalio/core-bridge') return { module: 'node_modules/@temporalio/core-bridge', category: 'core bridge' };
    return { module: `node_modules/${pkg}`, category: 'package' };
  }
  // The worker's workflow bundle (webpack output, prebuilt or made at start) runs in the workflow vm.
  if (/workflow-bundle[^/]*\.js$/.test(path) || path.startsWith('webpack')) return { module: 'workflow bundle (workflows/ + the SDK\'s workflow runtime)', category: 'workflow bundle' };
  if (path.startsWith('evalmachine') || path.startsWith('wasm://')) return { module: path.startsWith('wasm') ? '(wasm)' : 'evalmachine (vm scripts)', category: 'vm/native' };
  // Our own files, wherever the checkout is (a JS build under dist/ or build/ maps back to its source dir).
  const parts = path.split('/');
  for (let i = 0; i < parts.length; i++) {
    if (!OUR_DIRS.includes(parts[i]!)) continue;
    return { module: parts.slice(i).join('/'), category: 'ours' };
  }
  return { module: basename(path), category: 'package' };
}

/** What a thread is, from every function it ever ran (not only in the window). */
function threadName(file: string, profile: CpuProfile): string {
  const id = /\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1];
  const has = (s: string) => profile.nodes.some((n) => n.callFrame.url.includes(s));
  if (id === '0') return 'main thread';
  if (has('workflow-worker-thread')) return 'workflow thread (Temporal workflow vm)';
  if (has('/node_modules/typescript/')) return 'type-check worker thread';
  if (has('node:internal/modules/esm/worker')) return 'module loader thread (import hooks)';
  return `worker thread ${id ?? '?'}`;
}

export interface SummaryOptions {
  /** Keep samples at or after this monotonic time, µs. */
  fromUs?: number;
  /** Keep samples before this monotonic time, µs. */
  toUs?: number;
  top?: number;
}

export function summarizeProfile(profile: CpuProfile, file: string, o: SummaryOptions = {}): ThreadSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) byId.get(c)!.parent = n.id;
  const modSelf = new Map<string, ModuleRow>();
  const fnSelf = new Map<string, FunctionRow>();
  const inclusive = new Map<string, number>();
  let t = profile.startTime;
  let first: number | undefined;
  let last = 0;
  let busy = 0;
  const deltas = profile.timeDeltas;
  for (let i = 0; i < profile.samples.length; i++) {
    t += deltas[i] ?? 0;
    // A sample stands for the time until the next one.
    const dur = (deltas[i + 1] ?? 0) / 1000;
    if ((o.fromUs !== undefined && t < o.fromUs) || (o.toUs !== undefined && t >= o.toUs)) continue;
    first ??= t;
    last = t;
    const node = byId.get(profile.samples[i]!)!;
    const { module, category } = moduleOf(node.callFrame);
    const row = modSelf.get(module) ?? { module, category, selfMs: 0 };
    row.selfMs += dur;
    modSelf.set(module, row);
    if (category === 'idle') continue;
    busy += dur;
    const cf = node.callFrame;
    const fnKey = `${cf.functionName || '(anonymous)'} ${module}:${cf.lineNumber + 1}`;
    const f = fnSelf.get(fnKey) ?? { fn: `${cf.functionName || '(anonymous)'}:${cf.lineNumber + 1}`, module, selfMs: 0 };
    f.selfMs += dur;
    fnSelf.set(fnKey, f);
    const seen = new Set<string>();
    for (let n: ProfileNode | undefined = node; n; n = n.parent === undefined ? undefined : byId.get(n.parent)) {
      const m = moduleOf(n.callFrame);
      if (m.category === 'ours' && !seen.has(m.module)) {
        seen.add(m.module);
        inclusive.set(m.module, (inclusive.get(m.module) ?? 0) + dur);
      }
    }
  }
  const top = o.top ?? 25;
  const modules = [...modSelf.values()].sort((a, b) => b.selfMs - a.selfMs);
  return {
    file: basename(file),
    thread: threadName(file, profile),
    spanMs: first === undefined ? 0 : (last - first) / 1000,
    busyMs: busy,
    modules,
    functions: [...fnSelf.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
    oursInclusive: [...inclusive].map(([module, selfMs]) => ({ module, category: 'ours' as const, selfMs })).sort((a, b) => b.selfMs - a.selfMs).slice(0, top),
  };
}

/** Every .cpuprofile under the given files and directories. */
export function profileFiles(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).sort().map((f) => join(p, f))
      : [p],
  );
}

export const readProfile = (file: string): CpuProfile => JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

export interface SummariesOptions extends SummaryOptions {
  /** Window relative to the earliest profile's start, s (instead of fromUs/toUs). */
  fromS?: number;
  toS?: number;
}

export function summarizeProfiles(paths: string[], o: SummariesOptions = {}): ThreadSummary[] {
  const files = profileFiles(paths);
  const profiles = files.map((f) => ({ f, p: readProfile(f) }));
  const t0 = Math.min(...profiles.map((x) => x.p.startTime));
  const fromUs = o.fromUs ?? (o.fromS !== undefined ? t0 + o.fromS * 1e6 : undefined);
  const toUs = o.toUs ?? (o.toS !== undefined ? t0 + o.toS * 1e6 : undefined);
  return profiles.map(({ f, p }) => summarizeProfile(p, f, { ...o, fromUs, toUs })).filter((s) => s.busyMs > 0);
}

const f1 = (v: number) => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

/**
 * Markdown: a table per busy thread of modules by self time and the top functions. With `per`, each
 * figure is also given per delivery (ms ÷ per).
 */
export function profileMarkdown(summaries: ThreadSummary[], o: { per?: number; top?: number; minShare?: number } = {}): string {
  const top = o.top ?? 20;
  const per = o.per;
  const cell = (ms: number) => (per ? `${f1(ms)} | ${(ms / per).toFixed(2)}` : f1(ms));
  const head = per ? ' ms | ms / delivery |' : ' ms |';
  const rule = per ? '---:|---:|' : '---:|';
  const lines: string[] = [];
  const busy = summaries.reduce((a, s) => a + s.busyMs, 0);
  lines.push(`JS threads sampled: ${summaries.length}; busy (not idle) ${f1(busy)} ms${per ? ` = ${(busy / per).toFixed(2)} ms per delivery over ${per} deliveries` : ''}.`, '');
  lines.push('| thread | span s | busy ms |' + (per ? ' busy ms / delivery |' : ''));
  lines.push('|---|---:|---:|' + (per ? '---:|' : ''));
  for (const s of summaries) lines.push(`| ${s.thread} (${s.file}) | ${(s.spanMs / 1000).toFixed(1)} | ${f1(s.busyMs)} |` + (per ? ` ${(s.busyMs / per).toFixed(2)} |` : ''));
  for (const s of summaries) {
    if (s.busyMs < busy * (o.minShare ?? 0.02)) continue;
    lines.push('', `### ${s.thread}: busy ${f1(s.busyMs)} ms`, '');
    lines.push(`| module (self time) | category | share of busy |${head}`, `|---|---|---:|${rule}`);
    for (const m of s.modules.filter((x) => x.category !== 'idle').slice(0, top)) lines.push(`| ${m.module} | ${m.category} | ${((m.selfMs / s.busyMs) * 100).toFixed(1)} % | ${cell(m.selfMs)} |`);
    const cats = new Map<Category, number>();
    for (const m of s.modules) if (m.category !== 'idle') cats.set(m.category, (cats.get(m.category) ?? 0) + m.selfMs);
    lines.push('', `By category: ${[...cats].sort((a, b) => b[1] - a[1]).map(([c, v]) => `${c} ${((v / s.busyMs) * 100).toFixed(0)} %`).join(' · ')}.`, '');
    lines.push(`| top functions (self time) | module |${head}`, `|---|---|${rule}`);
    for (const fn of s.functions.slice(0, top)) lines.push(`| \`${fn.fn.replace(/\|/g, '\\|')}\` | ${fn.module} | ${cell(fn.selfMs)} |`);
    if (s.oursInclusive.length > 0) {
      lines.push('', `| our files, inclusive (self + what they call) | share of busy |${head}`, `|---|---:|${rule}`);
      for (const m of s.oursInclusive.slice(0, Math.min(top, 12))) lines.push(`| ${m.module} | ${((m.selfMs / s.busyMs) * 100).toFixed(1)} % | ${cell(m.selfMs)} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function cli(argv: string[]): void {
  const opt = (name: string): number | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = Number(argv[i + 1]);
    if (!Number.isFinite(v)) throw new Error(`--${name}: expected a number, got '${argv[i + 1]}'`);
    argv.splice(i, 2);
    return v;
  };
  const o = { fromS: opt('from-s'), toS: opt('to-s'), fromUs: opt('from-us'), toUs: opt('to-us'), top: opt('top'), per: opt('per') };
  if (argv.length === 0) throw new Error('usage: profile-summary.ts <.cpuprofile files or dirs> [--from-s S] [--to-s S] [--from-us U] [--to-us U] [--top N] [--per DELIVERIES]');
  process.stdout.write(profileMarkdown(summarizeProfiles(argv, o), { per: o.per, top: o.top }));
}

if (process.argv[1] && import.meta.filename === process.argv[1]) cli(process.argv.slice(2));
