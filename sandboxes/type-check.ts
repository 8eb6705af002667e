// Type-checks an uploaded mapping against voiceoi.d.ts with the TypeScript compiler API.
//
// Everything but the uploaded file lives in an in-memory host whose SourceFiles (the ES lib files,
// voiceoi.d.ts, the sandbox globals) are parsed once per process and handed to every new Program,
// together with the previous Program so TypeScript reuses their structure: a check then costs tens
// of milliseconds instead of the seconds of a cold `tsc`.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type ts from 'typescript';
import { typescript } from './lazy-typescript.ts';
import { positionAt } from './text-position.ts';
import { USER_FILENAME } from './sandbox-names.ts';
import type { SourceProblem } from './types.ts';

const ROOT = '/voiceoi';
const USER_PATH = `${ROOT}/${USER_FILENAME}`;
const VOICEOI_PATH = `${ROOT}/voiceoi.d.ts`;
const GLOBALS_PATH = `${ROOT}/sandbox-globals.d.ts`;

/** The globals the sandbox runtime adds to the ECMAScript built-ins (runner-runtime.ts). */
const SANDBOX_GLOBALS = `
interface SandboxConsole {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}
declare var console: SandboxConsole;
`;

function compilerOptions(): ts.CompilerOptions {
  const ts = typescript();
  return {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    // What the sandbox's V8 implements; no DOM, no Node: neither exists in there.
    lib: ['lib.es2023.d.ts'],
    types: [],
    isolatedModules: true,
    skipLibCheck: true,
    noFallthroughCasesInSwitch: true,
  };
}

export const VOICEOI_DTS_URL = new URL('./voiceoi.d.ts', import.meta.url);

let options: ts.CompilerOptions | undefined;
let libDir: string | undefined;

function setup(): { options: ts.CompilerOptions; libDir: string } {
  options ??= compilerOptions();
  libDir ??= dirname(typescript().getDefaultLibFilePath(options));
  return { options, libDir };
}

/** Shared, immutable SourceFiles: everything except the upload. */
const sharedFiles = new Map<string, ts.SourceFile>();
let previousProgram: ts.Program | undefined;

function sharedSourceFile(fileName: string): ts.SourceFile | undefined {
  let file = sharedFiles.get(fileName);
  if (file) return file;
  const ts = typescript();
  let text: string | undefined;
  if (fileName === VOICEOI_PATH) text = readFileSync(fileURLToPath(VOICEOI_DTS_URL), 'utf8');
  else if (fileName === GLOBALS_PATH) text = SANDBOX_GLOBALS;
  else if (dirname(fileName) === setup().libDir) text = ts.sys.readFile(fileName);
  if (text === undefined) return undefined;
  file = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, false);
  sharedFiles.set(fileName, file);
  return file;
}

function createHost(userFile: ts.SourceFile): ts.CompilerHost {
  const ts = typescript();
  const { libDir } = setup();
  return {
    getSourceFile: (fileName) => (fileName === USER_PATH ? userFile : sharedSourceFile(fileName)),
    getDefaultLibFileName: (opts) => join(libDir, ts.getDefaultLibFileName(opts)),
    getDefaultLibLocation: () => libDir,
    writeFile: () => {},
    getCurrentDirectory: () => ROOT,
    getCanonicalFileName: (f) => f,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
    fileExists: (f) => f === USER_PATH || sharedSourceFile(f) !== undefined,
    readFile: (f) => (f === USER_PATH ? userFile.text : sharedSourceFile(f)?.text),
    // Nothing resolves from disk: 'voiceoi' is the ambient module of voiceoi.d.ts, anything else
    // is reported by checkImports with a message that says why.
    resolveModuleNameLiterals: (literals) => literals.map(() => ({ resolvedModule: undefined })),
  };
}

export function typeCheckMapping(source: string): SourceProblem[] {
  const ts = typescript();
  const userFile = ts.createSourceFile(USER_PATH, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const program = ts.createProgram({
    rootNames: [VOICEOI_PATH, GLOBALS_PATH, USER_PATH],
    options: setup().options,
    host: createHost(userFile),
    oldProgram: previousProgram,
  });
  previousProgram = program;
  const checker = program.getTypeChecker();

  const problems: SourceProblem[] = [];
  const importProblems = checkImports(userFile);
  problems.push(...importProblems);

  const syntactic = program.getSyntacticDiagnostics(userFile);
  problems.push(...syntactic.map((d) => fromDiagnostic(source, d, 'syntax_error')));
  if (syntactic.length > 0) return problems.slice(0, MAX_PROBLEMS);

  const cannotFindModule = new Set([2307, 2792]);
  for (const d of program.getSemanticDiagnostics(userFile)) {
    if (importProblems.length > 0 && cannotFindModule.has(d.code)) continue;
    if (d.category !== ts.DiagnosticCategory.Error) continue;
    problems.push(fromDiagnostic(source, d, 'type_error'));
  }
  problems.push(...checkDefaultExport(source, userFile, checker));
  return problems.slice(0, MAX_PROBLEMS);
}

const MAX_PROBLEMS = 20;

function fromDiagnostic(source: string, d: ts.Diagnostic, code: SourceProblem['code']): SourceProblem {
  const ts = typescript();
  const at = positionAt(source, d.start ?? 0);
  return { ...at, message: ts.flattenDiagnosticMessageText(d.messageText, '\n'), code };
}

function problemAt(
  source: string,
  file: ts.SourceFile,
  node: ts.Node | undefined,
  code: SourceProblem['code'],
  message: string,
): SourceProblem {
  const at = node ? positionAt(source, node.getStart(file)) : { line: 1, column: 1 };
  return { ...at, message, code };
}

/** The sandbox has no module loader: only `import type … from 'voiceoi'` means anything. */
function checkImports(file: ts.SourceFile): SourceProblem[] {
  const ts = typescript();
  const problems: SourceProblem[] = [];
  const source = file.text;
  for (const stmt of file.statements) {
    if (ts.isImportDeclaration(stmt)) {
      const from = ts.isStringLiteral(stmt.moduleSpecifier) ? stmt.moduleSpecifier.text : '?';
      if (from !== 'voiceoi') {
        problems.push(
          problemAt(source, file, stmt, 'type_error', `'${from}' cannot be imported: a transform runs without modules; only types can be imported, from 'voiceoi'.`),
        );
      } else if (!stmt.importClause) {
        problems.push(
          problemAt(source, file, stmt, 'type_error', `'voiceoi' only provides types: use \`import type { … } from 'voiceoi'\`.`),
        );
      }
    } else if (ts.isImportEqualsDeclaration(stmt) && ts.isExternalModuleReference(stmt.moduleReference)) {
      problems.push(problemAt(source, file, stmt, 'type_error', 'require() is not available in a transform.'));
    } else if (ts.isExportDeclaration(stmt) && stmt.moduleSpecifier && !stmt.isTypeOnly) {
      problems.push(problemAt(source, file, stmt, 'type_error', 'Re-exporting from another module is not available in a transform.'));
    }
  }
  return problems;
}

const EXAMPLE = 'export default function transform(event: VoiceOIEvent, ctx: TransformContext): TransformResult { … }';

function checkDefaultExport(source: string, file: ts.SourceFile, checker: ts.TypeChecker): SourceProblem[] {
  const ts = typescript();
  const moduleSymbol = checker.getSymbolAtLocation(file);
  const exported = moduleSymbol ? checker.getExportsOfModule(moduleSymbol).find((s) => s.escapedName === 'default') : undefined;
  if (!exported) {
    return [problemAt(source, file, undefined, 'missing_default_export', `The module must default-export its transform function: ${EXAMPLE}`)];
  }
  const declaration = exported.declarations?.[0];
  const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const type = declaration ? checker.getTypeOfSymbolAtLocation(target, declaration) : checker.getDeclaredTypeOfSymbol(target);
  const signatures = type.getCallSignatures();
  if (signatures.length === 0) {
    return [
      problemAt(source, file, declaration, 'missing_default_export', `The default export must be the transform function (${checker.typeToString(type)} is not callable): ${EXAMPLE}`),
    ];
  }
  const api = voiceoiTypes(checker);
  if (!api) return [];
  const problems: SourceProblem[] = [];
  const signature = signatures[0]!;
  const returned = signature.getReturnType();
  const awaited = checker.getAwaitedType(returned) ?? returned;
  if (!(awaited.flags & ts.TypeFlags.Any) && !checker.isTypeAssignableTo(awaited, api.result)) {
    problems.push(
      problemAt(source, file, declaration, 'type_error', `The transform must return TransformResult ({ body, headers?, method?, path?, query? } or null), or a Promise of it; it returns ${checker.typeToString(returned)}.`),
    );
  }
  const [eventParam, ctxParam] = signature.getParameters();
  if (eventParam && declaration) {
    const paramType = checker.getTypeOfSymbolAtLocation(eventParam, declaration);
    const members = api.event.isUnion() ? api.event.types : [api.event];
    if (!members.some((m) => checker.isTypeAssignableTo(m, paramType))) {
      problems.push(
        problemAt(source, file, declaration, 'type_error', `The first parameter must accept a VoiceOIEvent or OperationalEvent (or one event of them, e.g. CallCompletedEvent); ${checker.typeToString(paramType)} accepts none.`),
      );
    }
  }
  if (ctxParam && declaration) {
    const paramType = checker.getTypeOfSymbolAtLocation(ctxParam, declaration);
    if (!checker.isTypeAssignableTo(api.context, paramType)) {
      problems.push(
        problemAt(source, file, declaration, 'type_error', `The second parameter receives a TransformContext; it is declared as ${checker.typeToString(paramType)}.`),
      );
    }
  }
  return problems;
}

function voiceoiTypes(checker: ts.TypeChecker): { result: ts.Type; event: ts.Type; context: ts.Type } | undefined {
  const module = checker.getAmbientModules().find((m) => m.escapedName === '"voiceoi"');
  if (!module) return undefined;
  const exports = checker.getExportsOfModule(module);
  const typeOf = (name: string) => {
    const symbol = exports.find((s) => s.escapedName === name);
    return symbol ? checker.getDeclaredTypeOfSymbol(symbol) : undefined;
  };
  const result = typeOf('TransformResult');
  const event = typeOf('AnyEvent');
  const context = typeOf('TransformContext');
  return result && event && context ? { result, event, context } : undefined;
}
