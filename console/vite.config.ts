import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Built into console/dist and served by the API at /console (src/console.ts): no CDN, no request
// off the API's origin, so the console works offline.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  plugins: [react()],
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
