// Did moving the README into docs/ lose anything? Every environment variable, code span (`…`: error
// codes, fields, paths, commands), number and link target of an old README must still be written
// somewhere in README.md or docs/**/*.md; lines not found word for word are listed for a reader to
// review (prose that was rephrased or split).
//
//   git show <old commit>:README.md > /tmp/old-readme.md
//   node --no-node-snapshot --import tsx src/docs/check-moved-facts.ts /tmp/old-readme.md
//
// Exits 1 when a fact is missing.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../build/layout.ts';

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? markdownFiles(p) : name.endsWith('.md') ? [p] : [];
  });
}

const oldFile = process.argv[2];
if (!oldFile) {
  process.stderr.write('usage: check-moved-facts.ts <old README.md>\n');
  process.exit(2);
}
const old = readFileSync(oldFile, 'utf8');
const tree = [join(projectRoot, 'README.md'), ...markdownFiles(join(projectRoot, 'docs'))].map((f) => readFileSync(f, 'utf8')).join('\n');
// Line breaks moved when paragraphs were cut: compare with whitespace collapsed.
const flat = (s: string) => s.replace(/\s+/g, ' ');
const haystack = flat(tree);

const unique = (xs: Iterable<string>) => [...new Set(xs)];
const kinds: Record<string, string[]> = {
  'environment variables': unique(old.match(/\b(?:VOICEOI_[A-Z0-9_*]+|TEMPORAL_[A-Z_]+|DATABASE_URL|LOG_LEVEL)\b/g) ?? []),
  'code spans': unique([...old.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!)),
  numbers: unique(old.match(/\d+(?:[ .,]\d+)*(?:\s?(?:%|ms|s|KiB|MiB|MB|GB|h|m))?\b/g) ?? []),
  'link targets': unique([...old.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!.replace(/^docs\//, '').replace(/#.*$/, '')).filter((t) => t !== '')),
};

let missing = 0;
for (const [kind, facts] of Object.entries(kinds)) {
  const lost = facts.filter((f) => !haystack.includes(flat(f)));
  missing += lost.length;
  process.stdout.write(`${kind}: ${facts.length - lost.length}/${facts.length} found${lost.length ? `; missing: ${lost.map((f) => JSON.stringify(f)).join(', ')}` : ''}\n`);
}

const lines = old.split('\n').map((l) => l.trim()).filter((l) => l.length > 20 && !l.startsWith('#') && !l.startsWith('|---'));
const reworded = lines.filter((l) => !haystack.includes(flat(l)));
process.stdout.write(`lines found word for word: ${lines.length - reworded.length}/${lines.length}\n`);
for (const l of reworded) process.stdout.write(`  reworded or moved: ${l}\n`);
process.exit(missing > 0 ? 1 : 0);
