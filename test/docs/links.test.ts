import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { anchorOf } from '../../src/docs/api-reference.ts';

// Every relative link of the front page and the docs reaches a file of this repository, and a link to
// a heading reaches a heading that exists (GitHub's anchors), so moving a page or renaming a section
// cannot leave a reader on a dead link.

const root = fileURLToPath(new URL('../..', import.meta.url));

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? markdownFiles(p) : name.endsWith('.md') ? [p] : [];
  });
}

/** The page without its fenced code blocks and inline code (a `](x)` there is not a link). */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** The anchors GitHub gives the page's headings (a repeated heading gets -1, -2, …). */
function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of readFileSync(file, 'utf8').replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = anchorOf(m[1]!.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1'));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of readFileSync(file, 'utf8').matchAll(/<a (?:name|id)="([^"]+)"/g)) anchors.add(m[1]!);
  return anchors;
}

const pages = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))];

test('every relative link in README.md and docs/ reaches a file, and its anchor a heading', () => {
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    for (const m of prose(readFileSync(page, 'utf8')).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      checked++;
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const file = path === '' ? page : resolve(dirname(page), decodeURIComponent(path));
      const where = `${relative(root, page)}: ${target}`;
      if (!file.startsWith(root) || !existsSync(file)) {
        broken.push(`${where} (no such file)`);
        continue;
      }
      if (anchor && file.endsWith('.md') && !anchorsOf(file).has(anchor)) broken.push(`${where} (no heading #${anchor} in ${relative(root, file)})`);
    }
  }
  assert.ok(checked > 50, `only ${checked} relative links found: is the scan still reading the pages?`);
  assert.deepEqual(broken, [], `broken links:\n${broken.join('\n')}`);
});

test('every page under docs/ is reachable from the docs map', () => {
  const map = readFileSync(join(root, 'docs', 'README.md'), 'utf8');
  const linked = new Set([...prose(map).matchAll(/\]\(([^)#\s]+)/g)].map((m) => resolve(join(root, 'docs'), m[1]!)));
  const orphans = pages.filter((p) => p.startsWith(join(root, 'docs')) && p !== join(root, 'docs', 'README.md') && !linked.has(p));
  assert.deepEqual(orphans.map((p) => relative(root, p)), [], 'pages docs/README.md does not list');
});
