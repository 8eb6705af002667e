// swc is native code: on deeply nested input it overflows its thread's stack and the process dies
// with SIGSEGV, whatever catches what (measured with @swc/core 1.16, Node 20: 5 000 nested
// parentheses, 10 KB, crash it on the main thread; so do 20 000 chained arrows, `if`s, generics or
// object literals). A worker thread does not contain that: a segfault ends every thread.
// TypeScript's parser is JavaScript: on the same input it answers a RangeError at worst. So every
// source is parsed by it and its syntax tree's depth bounded before swc sees it.
import type ts from 'typescript';
import { typescript } from './lazy-typescript.ts';
import { USER_FILENAME } from './sandbox-names.ts';
import { positionAt } from './text-position.ts';
import type { SourceProblem } from './types.ts';

/** Far above real mappings (the examples stay under 30) and far below where swc crashes. */
export const MAX_SYNTAX_DEPTH = 256;

export function syntaxDepthProblem(source: string): SourceProblem | undefined {
  const ts = typescript();
  let file: ts.SourceFile;
  try {
    file = ts.createSourceFile(USER_FILENAME, source, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    return { line: 1, column: 1, code: 'syntax_error', message: `The code is nested too deeply to parse (more than ${MAX_SYNTAX_DEPTH} levels of expressions, statements or types inside each other).` };
  }
  // Iterative on purpose: a recursive walk would overflow on exactly the input it looks for.
  const pending: [ts.Node, number][] = [[file, 0]];
  while (pending.length > 0) {
    const [node, depth] = pending.pop()!;
    if (depth > MAX_SYNTAX_DEPTH) {
      return {
        ...positionAt(source, node.getStart(file)),
        code: 'syntax_error',
        message: `The code is nested more than ${MAX_SYNTAX_DEPTH} levels deep here (expressions, statements or types inside each other): flatten it.`,
      };
    }
    ts.forEachChild(node, (child) => {
      pending.push([child, depth + 1]);
    });
  }
  return undefined;
}
