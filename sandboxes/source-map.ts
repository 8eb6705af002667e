// Maps positions in the JavaScript that runs in the sandbox back to the engineer's TypeScript, so
// an error says "line 12 of your mapping", not a line of swc's output. Only what that needs:
// Source Map v3 "mappings", one source, no names.

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) BASE64_VALUE[BASE64.charCodeAt(i)] = i;

/** [generated column, original line, original column], all 0-based. */
type Segment = readonly [number, number, number];

export class SourceMap {
  private constructor(private readonly lines: Segment[][]) {}

  static fromJson(json: string): SourceMap {
    const parsed = JSON.parse(json) as { mappings?: unknown };
    if (typeof parsed.mappings !== 'string') throw new Error('source map without mappings');
    return new SourceMap(decodeMappings(parsed.mappings));
  }

  /** 1-based in, 1-based out; null when the generated position has no mapping (runtime glue). */
  originalPosition(line: number, column: number): { line: number; column: number } | null {
    const segments = this.lines[line - 1];
    if (!segments || segments.length === 0) return null;
    const col = column - 1;
    // Last segment starting at or before the column; a column before the first segment still
    // belongs to that first segment's statement (indentation).
    let best: Segment | undefined = segments[0];
    let lo = 0;
    let hi = segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const seg = segments[mid]!;
      if (seg[0] <= col) {
        best = seg;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return best ? { line: best[1] + 1, column: best[2] + 1 } : null;
  }
}

function decodeMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  let current: Segment[] = [];
  let sourceLine = 0;
  let sourceColumn = 0;
  let generatedColumn = 0;
  const fields: number[] = [];
  let i = 0;
  while (i <= mappings.length) {
    const ch = mappings[i];
    if (ch === undefined || ch === ';' || ch === ',') {
      // fields: genCol, sourceIndex, sourceLine, sourceColumn[, nameIndex] (relative values)
      if (fields.length >= 4) {
        generatedColumn += fields[0]!;
        sourceLine += fields[2]!;
        sourceColumn += fields[3]!;
        current.push([generatedColumn, sourceLine, sourceColumn]);
      } else if (fields.length >= 1) {
        generatedColumn += fields[0]!;
      }
      fields.length = 0;
      if (ch !== ',') {
        lines.push(current);
        current = [];
        generatedColumn = 0;
      }
      i++;
      continue;
    }
    const [value, next] = readVlq(mappings, i);
    fields.push(value);
    i = next;
  }
  for (const segs of lines) segs.sort((a, b) => a[0] - b[0]);
  return lines;
}

function readVlq(text: string, start: number): [value: number, next: number] {
  let result = 0;
  let shift = 0;
  let i = start;
  for (;;) {
    const code = text.charCodeAt(i++);
    const digit = code < 128 ? BASE64_VALUE[code]! : -1;
    if (digit < 0) throw new Error(`invalid base64 VLQ digit at ${i - 1}`);
    result += (digit & 31) * 2 ** shift;
    shift += 5;
    if ((digit & 32) === 0) break;
  }
  const negative = result % 2 === 1;
  const magnitude = Math.floor(result / 2);
  return [negative ? -magnitude : magnitude, i];
}
