import { useEffect, useRef } from 'react';
import type { MappingLanguage } from '../api.ts';
import type { CheckError } from './problems.ts';
import { monaco } from './monaco.ts';

let modelSeq = 0;

/** Monaco on one model; `problems` (from the API) become markers at their line and column. */
export function CodeEditor({
  value,
  language,
  onChange,
  problems,
  label,
}: {
  value: string;
  language: MappingLanguage;
  onChange: (v: string) => void;
  problems: CheckError[];
  label: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  // Texts the editor itself produced: a render may still carry an older one while the user types on.
  const emitted = useRef(new Set<string>());

  useEffect(() => {
    // A fresh .ts file name per editor: the TypeScript worker treats each model as its own module.
    const uri = monaco.Uri.parse(`file:///mapping-${++modelSeq}.${language === 'typescript' ? 'ts' : 'jsonata'}`);
    const model = monaco.editor.createModel(value, language, uri);
    const ed = monaco.editor.create(host.current!, {
      model,
      automaticLayout: true,
      minimap: { enabled: false },
      fontSize: 13,
      scrollBeyondLastLine: false,
      tabSize: 2,
      ariaLabel: label,
      fixedOverflowWidgets: true,
      quickSuggestions: { other: true, strings: false, comments: false },
    });
    editor.current = ed;
    const sub = ed.onDidChangeModelContent(() => {
      const text = model.getValue();
      emitted.current.add(text);
      onChangeRef.current(text);
    });
    return () => {
      sub.dispose();
      ed.dispose();
      model.dispose();
      editor.current = null;
    };
    // One model per language; later `value` changes flow through the effect below.
  }, [language]);

  // A value set from outside (a loaded version) replaces the text; the editor's own edits, even a
  // stale one, never do: that would reset the cursor under the user's fingers.
  useEffect(() => {
    const model = editor.current?.getModel();
    if (!model) return;
    if (model.getValue() === value) emitted.current.clear();
    else if (!emitted.current.has(value)) {
      emitted.current.clear();
      model.setValue(value);
    }
  }, [value]);

  useEffect(() => {
    const model = editor.current?.getModel();
    if (!model) return;
    monaco.editor.setModelMarkers(
      model,
      'voiceoi',
      problems
        .filter((p) => p.line)
        .map((p) => {
          const line = Math.min(p.line!, model.getLineCount());
          const column = Math.max(1, p.column ?? 1);
          const word = model.getWordAtPosition({ lineNumber: line, column });
          return {
            severity: monaco.MarkerSeverity.Error,
            message: `${p.message}${p.code ? ` (${p.code})` : ''}`,
            source: 'upload check',
            startLineNumber: line,
            startColumn: word?.startColumn ?? column,
            endLineNumber: line,
            endColumn: word && word.endColumn > column ? word.endColumn : Math.max(column + 1, model.getLineMaxColumn(line)),
          };
        }),
    );
  }, [problems]);

  return <div ref={host} className="editor" data-testid="mapping-editor" />;
}

/** Side-by-side diff of two versions. */
export function DiffView({ original, modified, language }: { original: string; modified: string; language: MappingLanguage }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const diff = monaco.editor.createDiffEditor(host.current!, { readOnly: true, automaticLayout: true, minimap: { enabled: false }, renderSideBySide: true, fontSize: 12, scrollBeyondLastLine: false });
    const lang = language === 'typescript' ? 'typescript' : 'jsonata';
    const a = monaco.editor.createModel(original, lang);
    const b = monaco.editor.createModel(modified, lang);
    diff.setModel({ original: a, modified: b });
    return () => {
      diff.dispose();
      a.dispose();
      b.dispose();
    };
  }, [original, modified, language]);
  return <div ref={host} className="editor diff" aria-label="Version diff" />;
}
