import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** Places to resolve packages from: this module, then the entry script, then the working directory. */
function resolutionBases(): string[] {
  const bases: string[] = [];
  // A bundler may leave import.meta.url empty (esbuild's CJS output); tsup's CJS build shims it.
  if (typeof import.meta.url === 'string' && import.meta.url) bases.push(import.meta.url);
  if (typeof __filename === 'string') bases.push(__filename);
  if (process.argv[1]) bases.push(process.argv[1]);
  bases.push(join(process.cwd(), 'index.js'));
  return bases;
}

/**
 * The directory holding tfjs-backend-wasm's `.wasm` binaries, with a trailing separator, or
 * undefined if it cannot be found. The backend's Node build looks for them beside its own file
 * via `__dirname`, which breaks once an app bundles that file; resolving the package and passing
 * the directory to `setWasmPaths` keeps working. One code path serves the ESM and CJS builds.
 */
export function wasmBinaryDir(): string | undefined {
  for (const base of resolutionBases()) {
    try {
      const dir = dirname(createRequire(base).resolve('@tensorflow/tfjs-backend-wasm'));
      if (existsSync(join(dir, 'tfjs-backend-wasm.wasm'))) return dir + '/';
    } catch {
      // Not resolvable from this base; try the next.
    }
  }
  return undefined;
}
