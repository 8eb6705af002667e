// `npm run docs:reference`: regenerates docs/reference/api.md from the OpenAPI document.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { referencePath, renderApiReference } from './api-reference.ts';
import { servedOpenApiDocument } from '../build/openapi-document.ts';

const text = renderApiReference(await servedOpenApiDocument());
mkdirSync(dirname(referencePath), { recursive: true });
writeFileSync(referencePath, text);
process.stdout.write(`wrote ${referencePath} (${text.length} bytes)\n`);
