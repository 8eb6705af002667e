import type { RateResult } from './measure.ts';

const n = (v: number | undefined, digits = 0): string => (v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const ms = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(1)}×` : '–');

export interface MainReport {
  generated_at: string;
  git_commit: string;
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  loadavg_start: number[];
  loadavg_end: number[];
  runtime_startup_s: number;
  runtime: RateResult[];
  /** Rates not run because the runtime was already saturated at a lower one. */
  runtime_skipped_rates: number[];
  floor: RateResult[];
  headline: { rate: number | null; p99_ms: number | null; p99_target_ms: number };
}

/** The highest rate whose p99 stays under the target with nothing lost or refused. */
export function headlineRate(results: RateResult[], targetMs: number): { rate: number | null; p99_ms: number | null } {
  const ok = results.filter((r) => r.lost === 0 && r.rejected === 0 && r.propagation_ms.p99 < targetMs).sort((a, b) => b.rate - a.rate);
  return ok[0] ? { rate: ok[0].rate, p99_ms: ok[0].propagation_ms.p99 } : { rate: null, p99_ms: null };
}

function usageCells(r: RateResult): string {
  const p = r.usage.processes;
  const cpu = Object.entries(p).map(([k, u]) => `${k} ${n(u.cpuPct)}`).join(', ');
  const rss = Object.entries(p).map(([k, u]) => `${k} ${n(u.peakRssMiB)}`).join(', ');
  return `${cpu} | ${rss} | ${n(r.usage.machineCpuPct)} | ${r.usage.loadavgStart[0]?.toFixed(2)} → ${r.usage.loadavgEnd[0]?.toFixed(2)}`;
}

export function mainMarkdown(r: MainReport): string {
  const lines: string[] = [];
  lines.push('# Propagation benchmark', '');
  lines.push(`Generated ${r.generated_at} by \`npm run bench\` at commit \`${r.git_commit}\`.`, '');
  lines.push(`Machine: ${Object.entries(r.machine).map(([k, v]) => `${k} ${v}`).join(' · ')}.`);
  lines.push(`Run: ${Object.entries(r.options).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' · ')}.`);
  lines.push(`Load average (1 min) ${r.loadavg_start[0]} at the start, ${r.loadavg_end[0]} at the end; other engineers' test suites share this 2-core machine, so "machine CPU" below includes their work.`, '');
  const h = r.headline;
  lines.push(
    h.rate === null
      ? `**Headline: no measured rate kept p99 propagation under ${h.p99_target_ms} ms.**`
      : `**Headline: p99 propagation stays under ${h.p99_target_ms} ms up to ${h.rate} events/s (p99 ${ms(h.p99_ms ?? undefined)} ms), with nothing lost.**`,
    '',
  );
  lines.push('Propagation: from the start of the ingest request to the first byte of the delivery at the receiver. Ingest: until the 202.', '');
  lines.push('| rate /s | stack | sent | accepted | lost | dup | propagation p50 | p90 | p99 | max | ingest p50 | ingest p99 | send lag p99 | drain s | sustained /s | CPU ms / delivery |');
  lines.push('|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const all = [...r.runtime, ...r.floor].sort((a, b) => a.rate - b.rate || a.target.localeCompare(b.target) * -1);
  for (const x of all) {
    lines.push(
      `| ${x.rate} | ${x.target} | ${x.sent} | ${x.accepted} | ${x.lost} | ${x.duplicates} | ${ms(x.propagation_ms.p50)} | ${ms(x.propagation_ms.p90)} | ${ms(x.propagation_ms.p99)} | ${ms(x.propagation_ms.max)} | ${ms(x.ingest_ms.p50)} | ${ms(x.ingest_ms.p99)} | ${ms(x.send_lag_ms.p99)} | ${n(x.drain_s, 1)} | ${n(x.delivered_per_s, 1)} | ${n(x.cpu_ms_per_delivery)} |`,
    );
  }
  if (r.runtime_skipped_rates.length > 0) {
    lines.push(
      '',
      `Runtime not run at ${r.runtime_skipped_rates.join(', ')} /s: it was already saturated at a lower rate (the backlog would only grow; the target rate 100/s runs anyway, and \`--all-rates\` runs every rate).`,
    );
  }
  if (r.floor.length > 0) {
    lines.push('', '## Against the floor (the ingest handler forwarding straight to the receiver, no Temporal)', '');
    lines.push('| rate /s | runtime p50 | floor p50 | ratio p50 | runtime p99 | floor p99 | ratio p99 |');
    lines.push('|---:|---:|---:|---:|---:|---:|---:|');
    for (const rt of r.runtime) {
      const fl = r.floor.find((f) => f.rate === rt.rate);
      if (!fl) continue;
      lines.push(
        `| ${rt.rate} | ${ms(rt.propagation_ms.p50)} | ${ms(fl.propagation_ms.p50)} | ${ratio(rt.propagation_ms.p50, fl.propagation_ms.p50)} | ${ms(rt.propagation_ms.p99)} | ${ms(fl.propagation_ms.p99)} | ${ratio(rt.propagation_ms.p99, fl.propagation_ms.p99)} |`,
      );
    }
  }
  lines.push('', '## Resources per rate (send window + drain)', '');
  lines.push('CPU in % of one core (this machine has 2 cores = 200 %); RSS peak in MiB, sampled every 250 ms.', '');
  lines.push('| rate /s | stack | CPU % per process | peak RSS MiB per process | machine CPU % (everyone) | load 1 min |');
  lines.push('|---:|---|---|---|---:|---|');
  for (const x of all) lines.push(`| ${x.rate} | ${x.target} | ${usageCells(x)} |`);
  const rejected = all.filter((x) => x.rejected > 0);
  if (rejected.length > 0) {
    lines.push('', '## Refused ingests', '');
    for (const x of rejected) lines.push(`- ${x.target} at ${x.rate}/s: ${x.rejected} not accepted (${x.rejected_examples.join('; ')})`);
  }
  lines.push('', `Runtime start-up (processes spawned → API healthy): ${r.runtime_startup_s} s.`, '');
  return `${lines.join('\n')}\n`;
}

export interface VariantResult {
  name: string;
  change: string;
  kept: string;
  startup_s: number;
  startup_rss_mib: Record<string, number>;
  rates: RateResult[];
}

export interface TuningReport {
  generated_at: string;
  git_commit: string;
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  variants: VariantResult[];
}

export function tuningMarkdown(r: TuningReport): string {
  const rates = [...new Set(r.variants.flatMap((v) => v.rates.map((x) => x.rate)))].sort((a, b) => a - b);
  const lines: string[] = [];
  lines.push('# Tuning: each change measured on its own', '');
  lines.push(`Generated ${r.generated_at} by \`npm run bench -- --tuning\` at commit \`${r.git_commit}\`.`, '');
  lines.push(`Machine: ${Object.entries(r.machine).map(([k, v]) => `${k} ${v}`).join(' · ')}.`);
  lines.push(`Run: ${Object.entries(r.options).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' · ')}.`, '');
  lines.push('`baseline` is the walking skeleton (before); every other row is the baseline plus ONE change, except `final` (after: every kept change, the product defaults now).');
  lines.push('Propagation in ms (ingest request start → receiver first byte). CPU ms / delivery: CPU time of the app and the Temporal dev server per delivered event, the figure least disturbed by the neighbours (it sets the throughput ceiling: 2 cores = 2000 ms of CPU per second). Each variant runs on a fresh dev server and app process; the machine is shared, so the load column tells how quiet it was.', '');
  const head = ['variant', 'change', 'kept?', 'start-up s'];
  for (const rate of rates) head.push(`${rate}/s p50`, `${rate}/s p99`, `${rate}/s lost`, `${rate}/s CPU ms / delivery`);
  head.push('load 1 min');
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`);
  for (const v of r.variants) {
    const cells = [v.name, v.change, v.kept, n(v.startup_s, 1)];
    for (const rate of rates) {
      const x = v.rates.find((y) => y.rate === rate);
      if (!x) {
        cells.push('–', '–', '–', '–');
        continue;
      }
      cells.push(ms(x.propagation_ms.p50), ms(x.propagation_ms.p99), String(x.lost), n(x.cpu_ms_per_delivery));
    }
    const loads = v.rates.map((x) => x.usage.loadavgEnd[0] ?? 0);
    cells.push(loads.length ? Math.max(...loads).toFixed(2) : '–');
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  return `${lines.join('\n')}\n`;
}
