import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'es2022',
  shims: true,
  // Native and service clients stay packages of their own (LanceDB ships a prebuilt binary).
  external: [/^@cnnviz\//, /^@tensorflow\//, '@lancedb/lancedb', 'bullmq', 'ioredis', 'apache-arrow'],
});
