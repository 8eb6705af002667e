#!/usr/bin/env node
// The `voiceoi` command: the compiled CLI from dist/ (built by `npm install`), or its TypeScript
// source through tsx in a checkout that was not built.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const built = new URL('../dist/src/cli/voiceoi.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/cli/voiceoi.ts', import.meta.url).href);
}
