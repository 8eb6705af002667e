// Turns a V8 stack from the sandbox into one about the engineer's file: generated positions become
// positions in their TypeScript, frames of the sandbox runtime disappear.
import { RUNTIME_FILENAME } from './runner-runtime.ts';
import { SANDBOX_FILENAME, USER_FILENAME } from './sandbox-names.ts';
import type { CompiledTypeScript } from './transpile-typescript.ts';

const MAX_FRAMES = 20;
const GENERATED_POSITION = new RegExp(`${SANDBOX_FILENAME.replace('.', '\\.')}:(\\d+):(\\d+)`);

export interface MappedStack {
  stack: string;
  line?: number;
  column?: number;
}

export function mapStack(stack: string, compiled: CompiledTypeScript): MappedStack {
  const lines = stack.split('\n');
  const out: string[] = [];
  let line: number | undefined;
  let column: number | undefined;
  let frames = 0;
  for (const text of lines) {
    const isFrame = /^\s+at /.test(text);
    if (!isFrame) {
      // The "Name: message" header (possibly several lines long).
      if (frames === 0) out.push(text);
      continue;
    }
    if (text.includes(RUNTIME_FILENAME)) continue;
    if (++frames > MAX_FRAMES) break;
    const match = GENERATED_POSITION.exec(text);
    if (!match) {
      out.push(text);
      continue;
    }
    const original = compiled.originalPosition(Number(match[1]), Number(match[2]));
    if (!original) continue;
    if (line === undefined) {
      line = original.line;
      column = original.column;
    }
    out.push(text.replace(GENERATED_POSITION, `${USER_FILENAME}:${original.line}:${original.column}`));
  }
  return { stack: out.join('\n'), line, column };
}

const GENERATED_POSITIONS = new RegExp(GENERATED_POSITION.source, 'g');

/** Rewrites generated positions anywhere in a text (an Error's stack logged with console.error). */
export function mapPositionsInText(text: string, compiled: CompiledTypeScript): string {
  if (!text.includes(SANDBOX_FILENAME)) return text;
  return text
    .split('\n')
    .filter((line) => !line.includes(RUNTIME_FILENAME))
    .join('\n')
    .replace(GENERATED_POSITIONS, (match, line: string, column: string) => {
      const original = compiled.originalPosition(Number(line), Number(column));
      return original ? `${USER_FILENAME}:${original.line}:${original.column}` : match;
    });
}
