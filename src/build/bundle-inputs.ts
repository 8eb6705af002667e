import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';

// Which project files end up in the workflow bundle: the entry and every file it reaches through a
// relative import that is not type-only (`import type` and `export type` are erased, and
// verbatimModuleSyntax makes every other import a value import). A change to any of them, and only
// to them, rebuilds the bundle.

const RELATIVE_IMPORT = /(?:^|;|\n)\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s*)?['"](\.{1,2}\/[^'"]+)['"]/g;

/** The entry and what it imports, as sorted paths relative to `root` with `/` separators. */
export function bundleInputs(root: string, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (rel: string) => {
    if (seen.has(rel) || !existsSync(join(root, rel))) return;
    seen.add(rel);
    const text = readFileSync(join(root, rel), 'utf8');
    for (const match of text.matchAll(RELATIVE_IMPORT)) {
      visit(normalize(join(dirname(rel), match[1]!)).split(sep).join('/'));
    }
  };
  visit(entry.split(sep).join('/'));
  return [...seen].sort();
}
