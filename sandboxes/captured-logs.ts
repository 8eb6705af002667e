// The sandbox bounds logs itself, but what it hands back is untrusted: enforce the bounds again,
// in UTF-8 bytes this time (the sandbox can only count UTF-16 units).
import type { RunLimits } from './types.ts';

export function boundLogs(value: unknown, limits: Pick<RunLimits, 'maxLogLines' | 'maxLogLineBytes'>): string[] {
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  // +1: the sandbox's "… N more lines were not captured" notice.
  for (const line of value) {
    if (out.length >= limits.maxLogLines + 1) break;
    if (typeof line === 'string') out.push(truncateUtf8(line, limits.maxLogLineBytes));
  }
  return out;
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  // Largest prefix (whole code points) that fits with the ellipsis (3 bytes).
  let lo = 0;
  let hi = Math.min(text.length, maxBytes);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (Buffer.byteLength(text.slice(0, mid)) <= maxBytes - 3) lo = mid;
    else hi = mid - 1;
  }
  let end = lo;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}
