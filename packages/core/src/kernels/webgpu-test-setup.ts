import * as tf from '@tensorflow/tfjs-core';

// Test helper (not exported from the package): WebGPU in Node through Dawn, GPU.md's recipe. CI installs Mesa's
// lavapipe, so these tests run there; a machine with neither Dawn nor a Vulkan driver skips them.

export interface WebgpuSetup {
  ok: boolean;
  /** Adapter description, or why WebGPU is unavailable. */
  what: string;
}

interface MinimalGpu {
  requestAdapter(): Promise<{ info: { vendor: string; description: string } } | null>;
}

let setup: Promise<WebgpuSetup> | undefined;

/**
 * Installs `navigator.gpu` from Dawn and THEN imports tfjs-backend-webgpu (it registers itself only if WebGPU
 * exists when it is evaluated). ok is false only when no adapter can be created.
 */
export function setupWebgpu(): Promise<WebgpuSetup> {
  setup ??= (async (): Promise<WebgpuSetup> => {
    let gpu: MinimalGpu;
    try {
      const specifier = 'webgpu';
      const dawn = (await import(specifier)) as {
        create(flags: string[]): MinimalGpu;
        globals: Record<string, unknown>;
      };
      gpu = dawn.create([]);
      Object.assign(globalThis, dawn.globals);
    } catch (e) {
      return { ok: false, what: `Dawn (npm 'webgpu') did not load: ${(e as Error).message.split('\n')[0]}` };
    }
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (adapter === null) return { ok: false, what: 'Dawn found no WebGPU adapter (no Vulkan driver?)' };
    const g = globalThis as { navigator?: object };
    if (g.navigator === undefined)
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    else if (!('gpu' in g.navigator))
      Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    if (tf.findBackendFactory('webgpu') === null)
      return { ok: false, what: 'tfjs-backend-webgpu registered nothing' };
    return { ok: true, what: `${adapter.info.vendor} ${adapter.info.description}`.trim() };
  })();
  return setup;
}

/** Largest |a - b| over largest |a|: the comparison the issue asks for (< 1e-3 between webgpu and cpu). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(a[i]));
  }
  return den === 0 ? num : num / den;
}
