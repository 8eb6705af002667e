// Every bad script fails its own run with a clear error, and the engine serves the next run.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertStillServes, expectBody, expectError, runTs, useEngine, withPeakSandboxRss } from './engine-fixture.ts';

const ctx = useEngine();

describe('a bad script fails only its own run', () => {
  test('syntax error: syntax_error with the position, before any sandbox', async () => {
    const error = expectError(await runTs(ctx.engine, `export default function transform(e) {\n  const a = ;\n  return null;\n}`), 'syntax_error');
    assert.equal(error.line, 2);
    assert.equal(error.column, 13);
    await assertStillServes(ctx.engine);
  });

  test('while (true) {}: timeout after the CPU limit', async () => {
    const started = performance.now();
    const error = expectError(await runTs(ctx.engine, `export default function transform() { while (true) {} }`, { timeoutMs: 50 }), 'timeout');
    assert.match(error.message, /50 ms/);
    assert.ok(performance.now() - started < 1_000, 'stopped by the CPU limit, not by a later deadline');
    await assertStillServes(ctx.engine);
  });

  test('a loop after await: timeout, with the logs written before it', async () => {
    const outcome = await runTs(ctx.engine, `export default async function transform() {\n  console.log('before the loop');\n  await null;\n  while (true) {}\n}`, { timeoutMs: 50 });
    expectError(outcome, 'timeout');
    assert.deepEqual(outcome.logs, ['before the loop']);
    await assertStillServes(ctx.engine);
  });

  test('a promise that never settles: reported at once, not after a deadline', async () => {
    const started = performance.now();
    const error = expectError(await runTs(ctx.engine, `export default async function transform() {\n  await new Promise(() => {});\n  return null;\n}`), 'script_error');
    assert.match(error.message, /never settles/);
    assert.ok(performance.now() - started < 500);
    await assertStillServes(ctx.engine);
  });

  test('allocating until the memory limit: memory_limit', async () => {
    const error = expectError(
      await runTs(ctx.engine, `export default function transform() {\n  const keep: number[][] = [];\n  for (;;) keep.push(new Array(100_000).fill(1.5));\n}`, { timeoutMs: 5_000, memoryMb: 16 }),
      'memory_limit',
    );
    assert.match(error.message, /16 MB/);
    await assertStillServes(ctx.engine);
  });

  test('a 100 MB string: memory_limit', async () => {
    const error = expectError(
      await runTs(ctx.engine, `export default function transform() {\n  const s = 'x'.repeat(100 * 1024 * 1024);\n  return { body: (s + '!').toUpperCase().length };\n}`, { timeoutMs: 5_000 }),
      'memory_limit',
    );
    assert.match(error.message, /32 MB/);
    await assertStillServes(ctx.engine);
  });

  test('throwing: the message and the line and column in the TypeScript source', async () => {
    // Interfaces and type annotations vanish from the compiled code: the position must still be
    // the one in the engineer's file.
    const source = [
      `import type { VoiceOIEvent } from 'voiceoi';`,
      `interface Lead {`,
      `  id: string;`,
      `}`,
      `export default function transform(event: VoiceOIEvent) {`,
      `  const lead: Lead = { id: event.data.call_id };`,
      `  if (lead.id) throw new RangeError('no CRM id for ' + lead.id);`,
      `  return null;`,
      `}`,
    ].join('\n');
    const error = expectError(await runTs(ctx.engine, source), 'script_error');
    assert.equal(error.message, 'RangeError: no CRM id for call_7f3e9a21');
    assert.equal(error.line, 7);
    assert.equal(error.column, 22);
    assert.match(error.stack ?? '', /at transform \(transform\.ts:7:22\)/);
    assert.doesNotMatch(error.stack ?? '', /voiceoi-runtime|transform\.js/);
    await assertStillServes(ctx.engine);
  });

  test('a TypeError from the runtime points at the offending line', async () => {
    const error = expectError(await runTs(ctx.engine, `export default function transform(event: any) {\n  return { body: event.data.missing.field };\n}`), 'script_error');
    assert.match(error.message, /^TypeError: Cannot read properties of undefined/);
    assert.equal(error.line, 2);
  });

  test('throwing something that is not an Error', async () => {
    const error = expectError(await runTs(ctx.engine, `export default function transform() { throw { reason: 'nope' }; }`), 'script_error');
    assert.equal(error.message, 'Uncaught {"reason": "nope"}');
  });

  test('a throw at module top level is reported too', async () => {
    const error = expectError(await runTs(ctx.engine, `const table = JSON.parse('{oops');\nexport default function transform() { return { body: table }; }`), 'script_error');
    assert.match(error.message, /^SyntaxError: /);
    assert.equal(error.line, 1);
  });

  test('returning a function: invalid_result naming where it is', async () => {
    const error = expectError(await runTs(ctx.engine, `export default () => ({ body: { lead: '884', notify: () => true } })`), 'invalid_result');
    assert.match(error.message, /result\.body\.notify is a function/);
    await assertStillServes(ctx.engine);
  });

  test('returning a cyclic object: invalid_result', async () => {
    const error = expectError(await runTs(ctx.engine, `export default () => {\n  const lead: any = { id: '884' };\n  lead.self = lead;\n  return { body: lead };\n}`), 'invalid_result');
    assert.match(error.message, /cycle/);
    await assertStillServes(ctx.engine);
  });

  test('a deep stack overflow is an ordinary script error', async () => {
    const error = expectError(await runTs(ctx.engine, `const f = (n: number): number => f(n + 1) + 1;\nexport default () => ({ body: f(0) })`), 'script_error');
    assert.match(error.message, /Maximum call stack size exceeded/);
    await assertStillServes(ctx.engine);
  });
});

test('bad and good scripts running at the same time each get their own outcome', async () => {
  const scripts: [string, string | null][] = [
    [`export default () => ({ body: 'good' })`, null],
    [`export default function transform() { while (true) {} }`, 'timeout'],
    [`export default function transform() { throw new Error('bad'); }`, 'script_error'],
    [`export default async () => { await null; return { body: 'good' }; }`, null],
    [`export default () => ({ body: () => 1 })`, 'invalid_result'],
    [`export default () => new Promise(() => {})`, 'script_error'],
  ];
  const runs = Array.from({ length: 24 }, (_, i) => scripts[i % scripts.length]!);
  const outcomes = await Promise.all(runs.map(([source]) => runTs(ctx.engine, source, { timeoutMs: 30 })));
  outcomes.forEach((outcome, i) => {
    const expected = runs[i]![1];
    if (expected === null) assert.equal(expectBody(outcome), 'good');
    else expectError(outcome, expected);
  });
});

describe('nothing of the host is reachable', () => {
  test('no process, require, fetch, timers, module loaders or host objects', async () => {
    const probe = `export default function transform() {
  const g = globalThis as any;
  const names = ['process', 'require', 'module', 'fetch', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask', 'Buffer', 'XMLHttpRequest', 'WebSocket', 'ivm', '_ivm', 'global', 'importScripts', 'Deno', 'Bun'];
  const found = names.filter((n) => typeof g[n] !== 'undefined');
  const own = Object.getOwnPropertyNames(globalThis).filter((n) => !/^[A-Z]/.test(n) && !['globalThis', 'console', 'eval', 'isFinite', 'isNaN', 'parseFloat', 'parseInt', 'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape', 'unescape', 'undefined', 'NaN', 'Infinity', '__voiceoi'].includes(n));
  return { body: { found, own } };
}`;
    assert.deepEqual(expectBody(await runTs(ctx.engine, probe)), { found: [], own: [] });
  });

  test('the constructor-constructor escape finds only the sandbox realm', async () => {
    const escape = `export default function transform(this: any, event: any, ctx: any) {
  const attempts: Record<string, string> = {};
  const tryIt = (name: string, fn: () => unknown) => { try { attempts[name] = String(fn()); } catch (e) { attempts[name] = 'threw ' + (e as Error).name; } };
  tryIt('function', () => (function (this: any) { return this; }).constructor.constructor('return typeof process')());
  tryIt('event', () => event.constructor.constructor('return typeof process')());
  tryIt('ctx.log', () => ctx.log.constructor('return typeof require')());
  tryIt('console', () => (console as any).log.constructor('return typeof fetch')());
  tryIt('import', () => typeof (globalThis as any).import);
  return { body: attempts };
}`;
    assert.deepEqual(expectBody(await runTs(ctx.engine, escape)), {
      function: 'undefined',
      event: 'undefined',
      'ctx.log': 'undefined',
      console: 'undefined',
      import: 'undefined',
    });
  });

  test('require() and dynamic import() fail inside the sandbox', async () => {
    const error = expectError(await runTs(ctx.engine, `declare const require: any;\nexport default () => ({ body: require('fs') })`), 'script_error');
    assert.match(error.message, /require is not defined/);
    const dynamic = await runTs(ctx.engine, `export default async () => { const fs = await import('node:fs'); return { body: typeof fs }; }`);
    assert.equal(dynamic.ok, false);
  });

  test('prototype pollution does not leak into the next run', async () => {
    const pollute = `export default function transform() {
  (Object.prototype as any).polluted = 'yes';
  (Array.prototype as any).push = () => 0;
  (JSON as any).stringify = () => '"hijacked"';
  (globalThis as any).leftover = 'state';
  return { body: ({} as any).polluted };
}`;
    assert.equal(expectBody(await runTs(ctx.engine, pollute)), 'yes');
    // Run enough times that every warm isolate of the pool has had a turn.
    for (let i = 0; i < 6; i++) {
      const check = `export default function transform() {
  const a: number[] = [];
  a.push(1);
  return { body: { polluted: ({} as any).polluted ?? null, push: a.length, json: JSON.stringify({ x: 1 }), leftover: (globalThis as any).leftover ?? null } };
}`;
      assert.deepEqual(expectBody(await runTs(ctx.engine, check)), { polluted: null, push: 1, json: '{"x":1}', leftover: null });
    }
  });

  test('a mapping that patches the runtime intrinsics still gets an honest outcome', async () => {
    const tamper = `export default function transform() {
  (Object.prototype as any).toJSON = function () { return 'tampered'; };
  return { body: { ok: true } };
}`;
    // toJSON on every object rewrites its own result; the host still checks what came out.
    expectError(await runTs(ctx.engine, tamper), 'invalid_result');
    await assertStillServes(ctx.engine);
  });
});

describe('memory outside the heap is refused or counted', () => {
  // The limit is 32 MB; a commit that escaped it would show as ~1024 MB more resident memory.
  const GIB = 2 ** 30;
  const GROWTH_BOUND_MB = 128;

  async function commitOneGib(body: string): Promise<{ error: ReturnType<typeof expectError>; grewMb: number }> {
    const source = `export default function transform() {\n  const G = ${GIB};\n  ${body}\n  return { body: 'committed' };\n}`;
    const { value, beforeMb, peakMb } = await withPeakSandboxRss(ctx.engine, () => runTs(ctx.engine, source, { timeoutMs: 5_000, memoryMb: 32 }));
    return { error: expectError(value, 'script_error'), grewMb: peakMb - beforeMb };
  }

  test('1 GiB of WebAssembly.Memory: the run fails, the sandbox process does not grow', async () => {
    const { error, grewMb } = await commitOneGib(`const memory = new WebAssembly.Memory({ initial: G / 65536, maximum: G / 65536 });\n  new Uint8Array(memory.buffer).fill(1);`);
    assert.match(error.message, /WebAssembly/);
    assert.equal(error.line, 3);
    assert.ok(grewMb < GROWTH_BOUND_MB, `the sandbox process grew by ${grewMb.toFixed(0)} MB`);
    await assertStillServes(ctx.engine);
  });

  test('no path leads back to a WebAssembly constructor', async () => {
    const probe = `export default function transform() {
  const g = globalThis as any;
  return { body: { global: typeof g.WebAssembly, own: Object.getOwnPropertyNames(globalThis).includes('WebAssembly'), viaFunction: Function('return typeof WebAssembly')() } };
}`;
    assert.deepEqual(expectBody(await runTs(ctx.engine, probe)), { global: 'undefined', own: false, viaFunction: 'undefined' });
  });

  test('a resizable ArrayBuffer resized to 1 GiB: the run fails, the process does not grow', async () => {
    const { error, grewMb } = await commitOneGib(`const buffer = new (ArrayBuffer as any)(0, { maxByteLength: G });\n  buffer.resize(G);\n  new Uint8Array(buffer).fill(1);`);
    assert.match(error.message, /resize is not a function/);
    assert.ok(grewMb < GROWTH_BOUND_MB, `the sandbox process grew by ${grewMb.toFixed(0)} MB`);
    await assertStillServes(ctx.engine);
  });

  test('a growable SharedArrayBuffer grown to 1 GiB: the run fails, the process does not grow', async () => {
    const { error, grewMb } = await commitOneGib(`const buffer = new (SharedArrayBuffer as any)(0, { maxByteLength: G });\n  buffer.grow(G);\n  new Uint8Array(buffer).fill(1);`);
    assert.match(error.message, /grow is not a function/);
    assert.ok(grewMb < GROWTH_BOUND_MB, `the sandbox process grew by ${grewMb.toFixed(0)} MB`);
    await assertStillServes(ctx.engine);
  });

  for (const [what, body] of [
    ['an ArrayBuffer', `new Uint8Array(new ArrayBuffer(G)).fill(1);`],
    ['a SharedArrayBuffer', `new Uint8Array(new SharedArrayBuffer(G)).fill(1);`],
    ['a typed array', `new Float64Array(G / 8).fill(1);`],
    ['64 ArrayBuffers of 16 MiB', `const kept = [];\n  for (let i = 0; i < 64; i++) kept.push(new Uint8Array(G / 64).fill(1));`],
  ] as const) {
    test(`1 GiB in ${what}: counted against the limit, refused`, async () => {
      const { error, grewMb } = await commitOneGib(body);
      assert.match(error.message, /Array buffer allocation failed/);
      assert.ok(grewMb < GROWTH_BOUND_MB, `the sandbox process grew by ${grewMb.toFixed(0)} MB`);
      await assertStillServes(ctx.engine);
    });
  }

  test('Intl objects (ICU memory, outside the heap): 100 000 DateTimeFormats are stopped after 500, the process does not grow', async () => {
    const source = `export default function transform() {\n  const kept = [];\n  for (let i = 0; i < 100_000; i++) kept.push(new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', dateStyle: 'full' }));\n  return { body: kept.length };\n}`;
    const { value, beforeMb, peakMb } = await withPeakSandboxRss(ctx.engine, () => runTs(ctx.engine, source, { timeoutMs: 5_000 }));
    const error = expectError(value, 'script_error');
    assert.match(error.message, /^RangeError: A transform may create at most 500 Intl objects per run \(this was Intl\.DateTimeFormat\)/);
    assert.equal(error.line, 3);
    assert.ok(peakMb - beforeMb < GROWTH_BOUND_MB, `the sandbox process grew by ${(peakMb - beforeMb).toFixed(0)} MB`);
  });

  const intlPaths: [string, string][] = [
    ['new Intl.X', `new Intl.Collator('de')`],
    ['Intl.X() without new', `Intl.NumberFormat('de-DE')`],
    ['prototype.constructor', `new (Intl.DateTimeFormat.prototype.constructor as any)('en')`],
    ['an instance\'s constructor', `new ((new Intl.PluralRules('en')) as any).constructor('en')`],
    ['Reflect.construct', `Reflect.construct(Intl.ListFormat, ['en'])`],
    ['a subclass', `new (class extends Intl.RelativeTimeFormat {})('en')`],
    ['Segmenter.segment()', `segmenter.segment('hello world')`],
    ['iterating segments', `segments[Symbol.iterator]()`],
  ];
  for (const [path, make] of intlPaths) {
    test(`Intl objects are counted through ${path}`, async () => {
      const source = `const segmenter = new Intl.Segmenter('en');\nconst segments = segmenter.segment('a b');\nexport default function transform() {\n  const kept: unknown[] = [];\n  for (let i = 0; i < 600; i++) kept.push(${make});\n  return { body: kept.length };\n}`;
      // Headroom on a busy machine: 500 formatters take tens of ms of CPU.
      const error = expectError(await runTs(ctx.engine, source, { timeoutMs: 2_000 }), 'script_error');
      assert.match(error.message, /at most 500 Intl objects per run/);
    });
  }

  test('ordinary Intl use works, and the count starts again with every run', async () => {
    const source = `export default function transform() {
  const date = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', dateStyle: 'long' });
  const money = new Intl.NumberFormat('de-DE', { style: 'currency', currency: 'EUR' });
  const words = [...new Intl.Segmenter('en', { granularity: 'word' }).segment('booked a site survey')].filter((s) => s.isWordLike).length;
  for (let i = 0; i < 400; i++) new Intl.Collator('de').compare('a', 'b');
  return { body: [date.format(Date.UTC(2026, 10, 27)), money.format(0.42), words, date instanceof Intl.DateTimeFormat, (0.42).toLocaleString('en-US', { style: 'percent' })] };
}`;
    for (let run = 0; run < 3; run++) {
      assert.deepEqual(expectBody(await runTs(ctx.engine, source, { timeoutMs: 2_000 })), ['November 27, 2026', '0,42\u00a0€', 4, true, '42%']);
    }
  });

  test('Atomics.wait forever is ended by the CPU limit', async () => {
    const error = expectError(await runTs(ctx.engine, `export default () => ({ body: Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0) })`, { timeoutMs: 50 }), 'timeout');
    assert.match(error.message, /50 ms/);
    await assertStillServes(ctx.engine);
  });
});
