import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // import.meta.url in the CJS build (wasm-paths.ts resolves tfjs-backend-wasm from it).
  shims: true,
  // Optional packages are loaded at run time when present; never bundle them.
  external: ['webgpu', 'sharp', /^@tensorflow\//],
});
