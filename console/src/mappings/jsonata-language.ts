import type { languages } from 'monaco-editor';

/** A small Monarch tokenizer for JSONata: paths, $variables and functions, operators, literals. */
export const jsonataLanguage: languages.IMonarchLanguage = {
  defaultToken: '',
  keywords: ['and', 'or', 'in', 'function', 'true', 'false', 'null'],
  operators: [':=', '~>', '..', '!=', '<=', '>=', '=', '<', '>', '+', '-', '*', '/', '%', '&', '?', ':', '^'],
  symbols: /[=><!~?:&|+\-*/^%.]+/,
  tokenizer: {
    root: [
      [/\/\*/, 'comment', '@comment'],
      [/\$[a-zA-Z_]\w*(?=\s*\()/, 'predefined'],
      [/\$\$?[a-zA-Z_]?\w*/, 'variable'],
      [/[a-zA-Z_]\w*/, { cases: { '@keywords': 'keyword', '@default': 'identifier' } }],
      [/`[^`]*`/, 'identifier'],
      [/\d+(\.\d+)?([eE][-+]?\d+)?/, 'number'],
      [/"([^"\\]|\\.)*"/, 'string'],
      [/'([^'\\]|\\.)*'/, 'string'],
      [/[{}()[\]]/, '@brackets'],
      [/@symbols/, { cases: { '@operators': 'operator', '@default': '' } }],
      [/[;,]/, 'delimiter'],
      [/\s+/, 'white'],
    ],
    comment: [
      [/[^/*]+/, 'comment'],
      [/\*\//, 'comment', '@pop'],
      [/[/*]/, 'comment'],
    ],
  },
};
