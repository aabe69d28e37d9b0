import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The map viewer's page (src/viewer), built into dist/viewer when the package builds, so that
// `cnnviz map serve` serves it from the installed package: users need neither Vite nor
// regl-scatterplot (bundled here; a devDependency).
export default defineConfig({
  root: fileURLToPath(new URL('./src/viewer', import.meta.url)),
  // Relative URLs: the server may sit behind any prefix.
  base: './',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist/viewer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
});
