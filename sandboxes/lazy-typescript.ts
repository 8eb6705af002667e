// The TypeScript compiler is 9 MB of JavaScript that only validation needs (and compile errors,
// rarely): loaded on first use so a delivery worker that only runs mappings never pays for it.
import { createRequire } from 'node:module';
import type TypeScript from 'typescript';

let loaded: typeof TypeScript | undefined;

export function typescript(): typeof TypeScript {
  loaded ??= createRequire(import.meta.url)('typescript') as typeof TypeScript;
  return loaded;
}
