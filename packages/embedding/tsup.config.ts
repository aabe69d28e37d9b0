import { defineConfig } from 'tsup';

export default defineConfig({
  // The t-SNE workers are their own entries so `tsne(x, { worker: true })` and FIt-SNE's thread can start them from dist.
  entry: ['src/index.ts', 'src/tsne-worker.ts', 'src/tsne-fft-worker.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  shims: true,
});
