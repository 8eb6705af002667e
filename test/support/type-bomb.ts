/**
 * A 1.2 KB TypeScript mapping whose type check takes minutes: unions of 1 000 object types with no
 * discriminant, each assigned to a union of 2 000, so every member is compared with every other.
 * Measured on the checker run in-process (sandboxes/type-check.ts, TypeScript 5.9, 2 busy cores):
 * 83 s. Valid code: only the type checker can tell it apart from a real mapping.
 */
export const TYPE_BOMB = [
  `type D = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;`,
  'type K = `${D}${D}${D}`;',
  `type Source = { [P in K]: { k: [P]; v: 1 } }[K];`,
  ...Array.from({ length: 8 }, (_, i) =>
    [`type T${i} = { [P in K]: { k: [P]; w: ${i} } | { k: [P]; v: 1 | ${i + 2} } }[K];`, `declare const s${i}: Source;`, `const t${i}: T${i} = s${i};`].join('\n'),
  ),
  `export default function transform(): null { return null; }`,
].join('\n');

/**
 * 4 KB whose check holds 40 mapped types of 10 000 properties each and compares them: past 160 MB
 * of checker heap (measured: out of memory after ~8 s in a thread limited to 160 MB).
 */
export const TYPE_MEMORY_BOMB = [
  `type D = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;`,
  'type K = `${D}${D}${D}${D}`;',
  ...Array.from({ length: 40 }, (_, i) =>
    [`type M${i} = { [P in K]: { k: [P, ${i}]; v: P } };`, `declare const m${i}: M${i};`, `const n${i}: { [P in K]: { k: [P, number]; v: string } } = m${i};`].join('\n'),
  ),
  `export default function transform(): null { return null; }`,
].join('\n');
