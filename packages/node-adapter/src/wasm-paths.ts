import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The directory holding tfjs-backend-wasm's `.wasm` binaries, with a trailing separator, or
 * undefined if it cannot be found. The backend's Node build finds them beside its own file via
 * `__dirname`, which breaks once an app bundles that file; resolving the package from here and
 * passing the directory to `setWasmPaths` keeps working. `import.meta.url` is shimmed by tsup in
 * the CJS build (`shims: true`), so one code path serves both builds.
 */
export function wasmBinaryDir(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    return existsSync(join(dir, 'tfjs-backend-wasm.wasm')) ? dir + '/' : undefined;
  } catch {
    return undefined;
  }
}
