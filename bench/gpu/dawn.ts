import * as tf from '@tensorflow/tfjs-core';
import { withShaderF16 } from '@cnnviz/core';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  software: boolean;
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  features: string[];
  toggles: string[];
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render|warp/i;

/**
 * WebGPU through Dawn for the bench, GPU.md's recipe: `navigator.gpu` before tfjs-backend-webgpu is evaluated.
 * Dawn toggles (e.g. skip_validation) are passed through; a software adapter is refused unless allowed.
 */
export async function startWebgpu(opts: {
  allowSoftware: boolean;
  toggles: string[];
}): Promise<AdapterReport> {
  const specifier = 'webgpu';
  const dawn = (await import(specifier)) as {
    create(flags: string[]): { requestAdapter(o?: object): Promise<GPUAdapterLike | null> };
    globals: Record<string, unknown>;
  };
  const flags = opts.toggles.length > 0 ? [`enable-dawn-features=${opts.toggles.join(',')}`] : [];
  // As @cnnviz/node does: the device gets shader-f16 where the adapter offers it (the precision float16 rows).
  const gpu = withShaderF16(dawn.create(flags));
  Object.assign(globalThis, dawn.globals);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) throw new Error('Dawn found no WebGPU adapter (no Vulkan driver? VK_DRIVER_FILES?)');
  const info = adapter.info;
  const software = SOFTWARE.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
  if (software && !opts.allowSoftware) {
    throw new Error(`only a software adapter (${info.description}); pass --software to bench it anyway`);
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed");
  await tf.ready();
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
    features: [...adapter.features].sort(),
    toggles: opts.toggles,
  };
}

interface GPUAdapterLike {
  info: { vendor: string; architecture: string; device: string; description: string };
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number };
  features: Iterable<string>;
}

/** The device's storage-binding limit as tfjs requested it (caps how many images fit in one batch). */
export function storageBindingLimit(): number {
  const backend = tf.backend() as unknown as {
    device?: { limits?: { maxStorageBufferBindingSize?: number } };
  };
  return backend.device?.limits?.maxStorageBufferBindingSize ?? 128 * 2 ** 20;
}
