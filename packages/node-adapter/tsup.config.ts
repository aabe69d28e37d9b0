import { defineConfig } from 'tsup';

export default defineConfig({
  // The library, and the `cnnviz` CLI (dist/cli.js, loaded by the committed bin/cnnviz.js; no types of its own).
  entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts' } },
  clean: true,
  sourcemap: true,
  target: 'es2022',
  // import.meta.url in the CJS build (wasm-paths.ts resolves tfjs-backend-wasm from it).
  shims: true,
  // Optional packages are loaded at run time when present; never bundle them.
  // The CLI imports the technique packages at run time; never bundle another @cnnviz package.
  external: ['webgpu', 'sharp', /^@tensorflow\//, /^@cnnviz\//],
});
