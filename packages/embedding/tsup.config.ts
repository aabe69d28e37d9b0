import { defineConfig } from 'tsup';

export default defineConfig({
  // The t-SNE worker is its own entry so `tsne(x, { worker: true })` can start it from dist.
  entry: ['src/index.ts', 'src/tsne-worker.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  shims: true,
});
