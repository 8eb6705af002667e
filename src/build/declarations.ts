// The typed client is exported by this package (`voiceoi-hooks/client`, package.json `exports`), so
// its compiled files need declarations beside them: swc emits none. Each client source is written so
// that its declaration follows from it alone (explicit types on everything exported), which lets
// TypeScript's per-file transpileDeclaration make it as swc makes the JS, file by file.

/** Sources whose `.d.ts` the build writes beside their `.js`. */
export const declaresTypes = (rel: string): boolean => rel.startsWith('src/client/') && rel.endsWith('.ts') && !rel.endsWith('.d.ts');

/** What `x.ts` declares, as `dist/…/x.d.ts`. */
export const declarationOutputOf = (rel: string): string => rel.replace(/\.ts$/, '.d.ts');

// The sources import `./x.ts` (allowImportingTsExtensions); a consumer resolves `./x.js` to x.d.ts.
const RELATIVE_TS_SPECIFIER = /(from\s+|import\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\.ts\2/g;

/** The declaration of one client source; throws, naming the problem, when it cannot be made from the file alone. */
export async function declarationOf(file: string, code: string): Promise<string> {
  const { default: ts } = await import('typescript');
  const result = ts.transpileDeclaration(code, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { isolatedDeclarations: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, allowImportingTsExtensions: true, strict: true },
  });
  const problems = (result.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
  if (problems.length > 0) throw new Error(`its declaration cannot be made from the file alone: ${problems.join('; ')}`);
  return result.outputText.replace(RELATIVE_TS_SPECIFIER, (_m, lead: string, quote: string, path: string) => `${lead}${quote}${path}.js${quote}`);
}
