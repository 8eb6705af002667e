import react from '@vitejs/plugin-react';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const COMPRESSIBLE = /\.(?:js|mjs|css|html|svg|json|ttf|txt|map|wasm)$/;
// Below this a response fits in a packet or two either way.
const MIN_BYTES = 1024;
// Brotli 11 costs about ten times brotli 9 for some 9% on the multi-MiB Monaco files (tens of
// seconds of every build on a small machine); the files the first page loads are far smaller.
const BROTLI_MAX_QUALITY_BYTES = 1024 * 1024;

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/**
 * Writes `<file>.gz` and `<file>.br` beside every compressible file of the build, so the API serves
 * them as they are (@fastify/static `preCompressed`, src/routes/console.ts) instead of compressing
 * several MiB of Monaco per request. A variant that is not smaller is not written.
 */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'voiceoi-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    writeBundle: {
      order: 'post',
      sequential: true,
      async handler() {
        const files = readdirSync(outDir, { recursive: true, encoding: 'utf8' })
          .map((f) => join(outDir, f))
          .filter((f) => COMPRESSIBLE.test(f) && statSync(f).isFile() && statSync(f).size >= MIN_BYTES);
        await Promise.all(
          files.map(async (file) => {
            const raw = readFileSync(file);
            const quality = raw.length <= BROTLI_MAX_QUALITY_BYTES ? constants.BROTLI_MAX_QUALITY : 9;
            const [gz, br] = await Promise.all([
              gzipAsync(raw, { level: constants.Z_BEST_COMPRESSION }),
              brotliAsync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } }),
            ]);
            if (gz.length < raw.length) writeFileSync(`${file}.gz`, gz);
            if (br.length < raw.length) writeFileSync(`${file}.br`, br);
          }),
        );
      },
    },
  };
}

// The console edits TypeScript, JSON and JSONata only. Monaco's CSS and HTML language services each
// start their own worker (`new Worker(new URL('css.worker.js', …))`), which Vite would emit as a
// 1 MiB and a 0.7 MiB asset nobody loads: their registration modules are built as empty ones.
const UNUSED_MONACO_FEATURES = /[\\/]monaco-editor[\\/]esm[\\/]vs[\\/]languages[\\/]features[\\/](?:css|html)[\\/]register\.js$/;
const monacoWithoutCssHtml: Plugin = {
  name: 'voiceoi-monaco-without-css-html',
  enforce: 'pre',
  load(id) {
    return UNUSED_MONACO_FEATURES.test(id) ? 'export {};' : undefined;
  },
};

// Built into console/dist and served by the API at /console (src/routes/console.ts): no CDN, no
// request off the API's origin, so the console works offline.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [monacoWithoutCssHtml, react(), precompress()],
  // Monaco's workers are ES modules built from node_modules, never fetched from elsewhere.
  worker: { format: 'es' },
  server: { fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Monaco and the TypeScript worker are big by nature; they load only on the Mappings page.
    chunkSizeWarningLimit: 8000,
    sourcemap: false,
  },
});
