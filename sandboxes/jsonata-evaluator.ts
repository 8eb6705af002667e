// Evaluates JSONata mappings inside the sandbox process. JSONata cannot reach the host (it has no
// way to call JavaScript it is not given), but it can allocate without bound ($pad, ranges,
// $string of a deep document): running it here means the worst it can do is crash this process,
// which the engine restarts. Time is bounded by jsonata's own guardrails (checked at every
// evaluation step) and, for a single built-in call that never returns, by the engine's deadline.
import jsonata from 'jsonata';
import { isJsonataError, jsonataErrorMessage, jsonataErrorPosition } from './jsonata-errors.ts';
import { LruCache } from './lru-cache.ts';
import type { ChildRunLimits, RawOutcome } from './sandbox-protocol.ts';

const MAX_DEPTH = 500;
const MAX_SEQUENCE = 1_000_000;

interface CompiledJsonata {
  source: string;
  expression: jsonata.Expression;
}

export class JsonataEvaluator {
  // Keyed by compile id and timeout: jsonata fixes its guardrails when an expression is compiled.
  private readonly compiled = new LruCache<string, CompiledJsonata>(500);

  async run(compileId: number, source: string, input: string, limits: ChildRunLimits): Promise<RawOutcome> {
    const cacheKey = `${compileId}:${limits.timeoutMs}`;
    let entry = this.compiled.get(cacheKey);
    try {
      if (!entry) {
        entry = {
          source,
          expression: jsonata(source, { timeout: limits.timeoutMs, stack: MAX_DEPTH, sequence: MAX_SEQUENCE }),
        };
        this.compiled.set(cacheKey, entry);
      }
      const { event, ctx } = JSON.parse(input) as { event: unknown; ctx: unknown };
      const value: unknown = await entry.expression.evaluate(event, { ctx });
      return serialiseResult(value, limits);
    } catch (err) {
      if (isJsonataError(err)) {
        const code = err.code === 'D1012' ? 'timeout' : 'script_error';
        const at = jsonataErrorPosition(source, err);
        return errorOutcome({ code, message: jsonataErrorMessage(err), ...at });
      }
      return errorOutcome({ code: 'script_error', message: err instanceof Error ? err.message : String(err) });
    }
  }
}

function errorOutcome(error: { code: string; message: string; line?: number; column?: number }): RawOutcome {
  return { kind: 'json', json: `{"ok":false,"error":${JSON.stringify(error)},"logs":[]}` };
}

class ResultProblem extends Error {}

function serialiseResult(value: unknown, limits: ChildRunLimits): RawOutcome {
  // undefined is JSONata's "no match": the mapping filters this event out.
  if (value === undefined) return { kind: 'json', json: '{"ok":true,"result":null,"logs":[]}' };
  let json: string | undefined;
  try {
    json = JSON.stringify(value, function (this: unknown, key: string, v: unknown) {
      if (typeof v === 'function' || (typeof v === 'object' && v !== null && ('_jsonata_lambda' in v || '_jsonata_function' in v))) {
        throw new ResultProblem(`${key === '' ? 'The result' : `"${key}"`} is a JSONata function, which cannot be sent: call it, or leave it out.`);
      }
      if (typeof v === 'number' && !Number.isFinite(v)) throw new ResultProblem(`"${key}" is ${v}, which JSON cannot represent.`);
      return v;
    });
  } catch (err) {
    return errorOutcome({ code: 'invalid_result', message: err instanceof Error ? err.message : String(err) });
  }
  if (json === undefined) return { kind: 'json', json: '{"ok":true,"result":null,"logs":[]}' };
  if (json.length > limits.maxResultBytes) {
    return errorOutcome({ code: 'invalid_result', message: `The result is ${json.length} characters of JSON, over the limit of ${limits.maxResultBytes} bytes.` });
  }
  return { kind: 'json', json: `{"ok":true,"result":{"body":${json}},"logs":[]}` };
}
