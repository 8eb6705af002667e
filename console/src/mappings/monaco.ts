// Monaco, bundled from node_modules with its workers (no CDN loader): imported only by the Mappings
// page, which is itself a lazy chunk.
import * as monaco from 'monaco-editor';
import EditorWorker from 'monaco-editor/editor/editor.worker?worker';
import JsonWorker from 'monaco-editor/languages/features/json/json.worker?worker';
import TsWorker from 'monaco-editor/languages/features/typescript/ts.worker?worker';
import voiceoiTypes from '../../../sandboxes/voiceoi.d.ts?raw';
import { jsonataLanguage } from './jsonata-language.ts';

self.MonacoEnvironment = {
  getWorker(_id: string, label: string) {
    if (label === 'typescript' || label === 'javascript') return new TsWorker();
    if (label === 'json') return new JsonWorker();
    return new EditorWorker();
  },
};

// The same world the upload check type-checks against (sandboxes/type-check.ts): ES2023, no DOM, no
// Node, the published voiceoi types and the sandbox's console.
const SANDBOX_GLOBALS = `
interface SandboxConsole { log(...args: unknown[]): void; info(...args: unknown[]): void; debug(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void; }
declare var console: SandboxConsole;
`;

const ts = monaco.typescript;
ts.typescriptDefaults.setCompilerOptions({
  strict: true,
  noEmit: true,
  target: ts.ScriptTarget.ES2020,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.NodeJs,
  lib: ['es2023'],
  isolatedModules: true,
  allowNonTsExtensions: true,
  noFallthroughCasesInSwitch: true,
});
ts.typescriptDefaults.setEagerModelSync(true);
ts.typescriptDefaults.addExtraLib(voiceoiTypes, 'file:///node_modules/@types/voiceoi/index.d.ts');
ts.typescriptDefaults.addExtraLib(SANDBOX_GLOBALS, 'file:///sandbox-globals.d.ts');

monaco.languages.register({ id: 'jsonata', extensions: ['.jsonata'], aliases: ['JSONata'] });
monaco.languages.setMonarchTokensProvider('jsonata', jsonataLanguage);
monaco.languages.setLanguageConfiguration('jsonata', {
  comments: { blockComment: ['/*', '*/'] },
  brackets: [
    ['{', '}'],
    ['[', ']'],
    ['(', ')'],
  ],
  autoClosingPairs: [
    { open: '{', close: '}' },
    { open: '[', close: ']' },
    { open: '(', close: ')' },
    { open: '"', close: '"' },
    { open: "'", close: "'" },
  ],
});

export { monaco };
