import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { cnnvizAssets } from './vite-assets.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const src = (pkg: string) => here(`../../packages/${pkg}/src/index.ts`);

export default defineConfig({
  // Relative base: the built page works from any folder or static host.
  base: './',
  plugins: [cnnvizAssets()],
  resolve: {
    alias: {
      // The monorepo's sources, so the page always runs the current code (no package build needed).
      '@cnnviz/core': src('core'),
      '@cnnviz/models': src('models'),
      '@cnnviz/attribution': src('attribution'),
      '@cnnviz/synthesis': src('synthesis'),
      '@cnnviz/embedding': src('embedding'),
      '@cnnviz/web': src('web-adapter'),
      // The Node-only PNG decoder (browsers use createImageBitmap).
      pngjs: here('./src/node-only-stub.ts'),
    },
  },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 8000,
    rolldownOptions: {
      input: { main: here('./index.html'), lab: here('./lab.html') },
    },
  },
  worker: { format: 'es' },
});
