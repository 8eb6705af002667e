// Deeply nested code is refused with a clear error, before swc (native, which would take the whole
// process down with SIGSEGV) or jsonata's recursive parser (a stack overflow) sees it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ValidationResult } from '../../sandboxes/index.ts';
import { MAX_SYNTAX_DEPTH } from '../../sandboxes/syntax-depth.ts';
import { assertStillServes, expectError, runJsonata, runTs, useEngine } from './engine-fixture.ts';

const ctx = useEngine();

const nested = {
  // 10 KB: enough to crash swc on the main thread.
  parentheses: `export default () => (${'('.repeat(5_000)}1${')'.repeat(5_000)});`,
  arrows: `export default ${'a => '.repeat(20_000)}1;`,
  ifs: `export default (a: any) => { ${'if (a) '.repeat(15_000)}return 1; return 2; }`,
  generics: `type T = ${'Array<'.repeat(15_000)}string${'>'.repeat(15_000)};\nexport default () => null;`,
  objects: `export default () => (${'{a:'.repeat(20_000)}1${'}'.repeat(20_000)});`,
};

function firstError(result: ValidationResult) {
  assert.equal(result.ok, false, JSON.stringify(result));
  return (result as Extract<ValidationResult, { ok: false }>).errors[0]!;
}

describe('nesting deeper than the parsers can take', () => {
  for (const [what, source] of Object.entries(nested)) {
    test(`TypeScript, nested ${what}: syntax_error at upload and at run, and the process lives on`, async () => {
      const problem = firstError(await ctx.engine.validate('typescript', source));
      assert.equal(problem.code, 'syntax_error');
      assert.match(problem.message, /nested (too deeply|more than 256 levels)/);
      const error = expectError(await runTs(ctx.engine, source), 'syntax_error');
      assert.match(error.message, /nested/);
      await assertStillServes(ctx.engine);
    });
  }

  test(`just past ${MAX_SYNTAX_DEPTH} levels: refused with the position where it gets too deep`, async () => {
    const problem = firstError(await ctx.engine.validate('typescript', `export default () => (${'['.repeat(MAX_SYNTAX_DEPTH)}1${']'.repeat(MAX_SYNTAX_DEPTH)});`));
    assert.match(problem.message, new RegExp(`more than ${MAX_SYNTAX_DEPTH} levels`));
    assert.equal(problem.line, 1);
    assert.ok(problem.column > 200);
  });

  test('ordinary nesting is fine', async () => {
    const source = `export default () => ({ body: ${'['.repeat(50)}1${']'.repeat(50)} });`;
    assert.equal((await ctx.engine.validate('typescript', source)).ok, true);
  });

  test('JSONata nested 60 000 deep: syntax_error at upload and at run', async () => {
    const source = `${'('.repeat(60_000)}1${')'.repeat(60_000)}`;
    const problem = firstError(await ctx.engine.validate('jsonata', source));
    assert.equal(problem.code, 'syntax_error');
    assert.match(problem.message, /nested too deeply/);
    expectError(await runJsonata(ctx.engine, source), 'syntax_error');
  });
});
