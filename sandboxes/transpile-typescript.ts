// TypeScript → the script that runs in an isolate. swc parses first: a mapping must never reach
// isolated-vm's compiler with a syntax error, and swc is fast enough to run on every cache miss.
import { transformSync, type Options } from '@swc/core';
import { typescript } from './lazy-typescript.ts';
import { USER_FILENAME } from './sandbox-names.ts';
import { SourceMap } from './source-map.ts';
import { syntaxDepthProblem } from './syntax-depth.ts';
import { positionAt } from './text-position.ts';
import type { SourceProblem } from './types.ts';


/**
 * The module becomes a CommonJS factory handed to the in-sandbox runtime. The prefix shares line 1
 * with the module so that generated line numbers stay swc's; only columns on line 1 shift.
 */
const WRAPPER_PREFIX = '__voiceoi.run(function (exports, module) {';
const WRAPPER_SUFFIX = '\n})';

export interface CompiledTypeScript {
  /** What validate returns as `compiled`: the module as plain JavaScript. */
  js: string;
  /** What the sandbox compiles and runs. */
  script: string;
  /** Generated → original positions; parsed lazily because only errors need it. */
  sourceMap(): SourceMap | null;
  /** Maps a position in `script` (1-based) to the engineer's source. */
  originalPosition(line: number, column: number): { line: number; column: number } | null;
}

const SWC_OPTIONS: Options = {
  filename: USER_FILENAME,
  swcrc: false,
  configFile: false,
  sourceMaps: true,
  inlineSourcesContent: false,
  isModule: true,
  jsc: {
    parser: { syntax: 'typescript', tsx: false },
    // The sandbox's V8 (Node 20) runs ES2022 natively: no helpers, no downlevelled async.
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs', strict: true, strictMode: true, importInterop: 'none' },
};

export function transpileTypeScript(
  source: string,
): { ok: true; compiled: CompiledTypeScript } | { ok: false; errors: SourceProblem[] } {
  // Before swc, always: it would take the process down (syntax-depth.ts).
  const tooDeep = syntaxDepthProblem(source);
  if (tooDeep) return { ok: false, errors: [tooDeep] };
  let output: { code: string; map?: string };
  try {
    output = transformSync(source, SWC_OPTIONS);
  } catch (err) {
    return { ok: false, errors: syntaxProblems(source, err) };
  }
  const js = output.code;
  const mapJson = output.map;
  let map: SourceMap | null | undefined;
  const sourceMap = (): SourceMap | null => {
    if (map === undefined) {
      try {
        map = mapJson ? SourceMap.fromJson(mapJson) : null;
      } catch {
        map = null;
      }
    }
    return map;
  };
  return {
    ok: true,
    compiled: {
      js,
      script: WRAPPER_PREFIX + js + WRAPPER_SUFFIX,
      sourceMap,
      originalPosition(line, column) {
        const jsColumn = line === 1 ? column - WRAPPER_PREFIX.length : column;
        if (jsColumn < 1) return null;
        return sourceMap()?.originalPosition(line, jsColumn) ?? null;
      },
    },
  };
}

/**
 * swc reports one error as rendered text; TypeScript's parser reports every syntax error with an
 * exact offset, so it positions them. swc's text is the fallback for what only swc rejects.
 */
function syntaxProblems(source: string, err: unknown): SourceProblem[] {
  const ts = typescript();
  const fromTs = ts.transpileModule(source, {
    fileName: USER_FILENAME,
    reportDiagnostics: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).diagnostics;
  const problems: SourceProblem[] = [];
  for (const d of fromTs ?? []) {
    if (d.start === undefined) continue;
    problems.push({
      ...positionAt(source, d.start),
      message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
      code: 'syntax_error',
    });
  }
  if (problems.length > 0) return problems.slice(0, 20);
  return [parseSwcError(source, err)];
}

function parseSwcError(source: string, err: unknown): SourceProblem {
  const text = err instanceof Error ? err.message : String(err);
  const lines = text.split('\n');
  const message = (lines.find((l) => l.trim() !== '') ?? 'syntax error').trim().replace(/^x\s+/, '');
  const header = /,-\[[^\]]*?:(\d+):(\d+)\]/.exec(text);
  let line = header ? Number(header[1]) : 1;
  let column = header ? Number(header[2]) : 1;
  // The caret under the snippet carries the real column: "  3 |   const a = ;" / "    :   ^".
  for (let i = 0; i + 1 < lines.length; i++) {
    const code = /^(\s*)(\d+) \| /.exec(lines[i]!);
    const caretLine = lines[i + 1]!;
    const caret = caretLine.indexOf('^');
    if (code && Number(code[2]) === line && /^\s*: /.test(caretLine) && caret !== -1) {
      column = caret - code[0].length + 1;
      break;
    }
  }
  const lineCount = source.split('\n').length;
  line = Math.min(Math.max(1, line), lineCount);
  return { line, column: Math.max(1, column), message, code: 'syntax_error' };
}
