// Temporary local config (models helper): the root config externalises any path matching /webgpu/ or
// /nsfwjs/, which catches source files such as core's kernels/webgpu-*.ts. Same aliases, node_modules-only externals.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
const src = (pkg: string) => fileURLToPath(new URL(`../${pkg}/src/index.ts`, import.meta.url));
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  resolve: {
    alias: {
      '@cnnviz/core': src('core'),
      '@cnnviz/models': src('models'),
    },
  },
  test: {
    include: ['packages/models/src/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    server: { deps: { external: [/node_modules\/@tensorflow/, /node_modules\/nsfwjs/, /node_modules\/webgpu/] } },
  },
});
