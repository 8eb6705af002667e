// The TypeScript compiler is 9 MB of JavaScript: loaded on first use, i.e. the first TypeScript
// compile (its parser bounds nesting before swc, syntax-depth.ts) or engine.warmup, so a process
// that only runs JSONata never pays for it.
import { createRequire } from 'node:module';
import type TypeScript from 'typescript';

let loaded: typeof TypeScript | undefined;

export function typescript(): typeof TypeScript {
  loaded ??= createRequire(import.meta.url)('typescript') as typeof TypeScript;
  return loaded;
}
