import { setAssetBase } from '@cnnviz/models';
import { initBackend, type BackendInfo } from '@cnnviz/web';
// Vite copies each binary into the build and gives its URL: tfjs-backend-wasm fetches them at run time.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

/** The backend asked for in the page URL (`?backend=webgl`), if any. */
export function requestedBackend(): string | undefined {
  return new URLSearchParams(location.search).get('backend') ?? undefined;
}

/**
 * Points @cnnviz/models at the assets the Vite plugin serves, and picks the TF.js backend
 * (`?backend=` forces one, strictly: a test that asks for WebGPU must not silently get WASM).
 */
export async function setup(): Promise<BackendInfo> {
  setAssetBase(new URL(`${import.meta.env.BASE_URL}cnnviz-assets/`, location.href));
  const backend = requestedBackend();
  return initBackend({
    backend,
    strict: backend !== undefined,
    wasmPaths: {
      'tfjs-backend-wasm.wasm': wasmPlain,
      'tfjs-backend-wasm-simd.wasm': wasmSimd,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
    },
  });
}
