// engine.validate checks TypeScript in a worker thread: bounded in time, size and queue, never on
// the caller's event loop, and a thread that timed out is replaced by a warm one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ValidationResult } from '../../sandboxes/index.ts';
import { MAX_SOURCE_BYTES } from '../../sandboxes/validate.ts';
import { TypeCheckThread } from '../../sandboxes/type-check-thread.ts';
import { TYPE_BOMB, TYPE_MEMORY_BOMB } from '../support/type-bomb.ts';
import { useEngine } from './engine-fixture.ts';

const ctx = useEngine({ typeCheckTimeoutMs: 1_000 }, { typeChecker: true });

const GOOD = `import type { VoiceOIEvent, TransformResult } from 'voiceoi';
export default function transform(event: VoiceOIEvent): TransformResult { return { body: event.id }; }`;
const TYPO = GOOD.replace('event.id', 'event.idd');

function codeOf(result: ValidationResult): string {
  return result.ok ? 'ok' : result.errors[0]!.code;
}

describe('type-checking in a thread', () => {
  test('a type bomb ends with type_check_timeout; checks queued behind it get their own verdicts', async () => {
    const before = ctx.engine.stats().typeCheckerReplacements;
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    const results = await Promise.all([TYPE_BOMB, GOOD, TYPO, GOOD].map((source) => ctx.engine.validate('typescript', source)));
    clearInterval(ticker);
    assert.deepEqual(results.map(codeOf), ['type_check_timeout', 'ok', 'type_error', 'ok']);
    assert.match((results[0] as { errors: { message: string }[] }).errors[0]!.message, /longer than 1 s/);
    assert.equal(ctx.engine.stats().typeCheckerReplacements, before + 1);
    // This event loop kept turning while the bomb was being checked.
    assert.ok(ticks > 0);
  });

  test('more uploads waiting than the queue holds: type_checker_unavailable for the excess, not a longer wait', async () => {
    const sources = [TYPE_BOMB, ...Array.from({ length: 9 }, (_, i) => `${GOOD}\n// ${i}`)];
    const results = await Promise.all(sources.map((source) => ctx.engine.validate('typescript', source)));
    assert.deepEqual(results.map(codeOf), ['type_check_timeout', ...Array(8).fill('ok'), 'type_checker_unavailable']);
  });

  test(`over ${MAX_SOURCE_BYTES} bytes: source_too_large, in either language`, async () => {
    const padding = 'é'.repeat(MAX_SOURCE_BYTES / 2);
    for (const [language, source] of [['typescript', `${GOOD}\n// ${padding}`], ['jsonata', `{"a": 1} /* ${padding} */`]] as const) {
      const result = await ctx.engine.validate(language, source);
      assert.equal(codeOf(result), 'source_too_large');
    }
    assert.equal(codeOf(await ctx.engine.validate('typescript', GOOD)), 'ok');
  });

  test('a check that exhausts the thread\'s heap: type_check_out_of_memory, and the next check works', async () => {
    const thread = new TypeCheckThread({ heapMb: 160, timeoutMs: 120_000 });
    try {
      const result = await thread.check(TYPE_MEMORY_BOMB);
      assert.equal(codeOf(result), 'type_check_out_of_memory', JSON.stringify(result).slice(0, 300));
      assert.equal(thread.stats().typeCheckerReplacements, 1);
      assert.equal(codeOf(await thread.check(GOOD)), 'ok');
    } finally {
      await thread.close();
    }
  });
});
