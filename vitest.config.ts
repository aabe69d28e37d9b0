import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Tests run against the sources of sibling packages, so a test never sees a stale build.
export default defineConfig({
  resolve: {
    alias: {
      '@cnnviz/core': src('core'),
      '@cnnviz/models': src('models'),
      '@cnnviz/attribution': src('attribution'),
      '@cnnviz/synthesis': src('synthesis'),
      '@cnnviz/embedding': src('embedding'),
      '@cnnviz/node': src('node-adapter'),
      '@cnnviz/web': src('web-adapter'),
      '@cnnviz/datasets': src('datasets'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'scripts/zoo/*.test.ts'],
    setupFiles: ['packages/core/src/test-support/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    server: {
      deps: { external: [/node_modules\/@tensorflow\//, /node_modules\/nsfwjs\//, /node_modules\/webgpu\//] },
    },
  },
});
