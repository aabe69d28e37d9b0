/**
 * WebGPU in Node through Dawn (npm `webgpu`), kept apart from the rest of backend selection
 * because its set-up order matters: `navigator.gpu` must exist before
 * `@tensorflow/tfjs-backend-webgpu` is evaluated, or that package silently registers nothing.
 */

/** What the adapter says about itself; `isFallbackAdapter` marks software renderers. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** True for software renderers (lavapipe/llvmpipe, SwiftShader, WARP) whatever the flag says. */
  software: boolean;
}

export type DawnProbe = { ok: true; adapter: GpuAdapterInfo } | { ok: false; why: string };

interface MinimalAdapter {
  info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & {
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
}
interface MinimalGpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<MinimalAdapter | null>;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render|warp/i;

let gpu: MinimalGpu | undefined;
let installedByUs = false;

/** Loads Dawn and installs `navigator.gpu` plus the WebGPU globals (`GPUBufferUsage`, ...). */
async function installDawn(): Promise<MinimalGpu> {
  if (gpu) return gpu;
  // The specifier is a variable so that type checking and bundlers do not require the optional package.
  const specifier = 'webgpu';
  const mod = (await import(specifier)) as {
    create: (flags: string[]) => MinimalGpu;
    globals: Record<string, unknown>;
  };
  const created = mod.create([]);
  Object.assign(globalThis, mod.globals);
  const g = globalThis as { navigator?: object };
  if (g.navigator) {
    // Node 21+ has a navigator of its own; add gpu to it rather than replace it.
    Object.defineProperty(g.navigator, 'gpu', { value: created, configurable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: created }, configurable: true });
  }
  installedByUs = true;
  gpu = created;
  return created;
}

/** Removes the `navigator.gpu` this module installed (when WebGPU was probed but not chosen). */
export function uninstallDawn(): void {
  if (!installedByUs) return;
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (g.navigator && Object.keys(g.navigator).length === 1 && 'gpu' in g.navigator) {
    delete (globalThis as { navigator?: unknown }).navigator;
  } else if (g.navigator) {
    delete g.navigator.gpu;
  }
  installedByUs = false;
  gpu = undefined;
}

/** Loads Dawn and asks for a high-performance adapter; reports what it found. */
export async function probeDawn(): Promise<DawnProbe> {
  let g: MinimalGpu;
  try {
    g = await installDawn();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const missing = code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
    return {
      ok: false,
      why: missing
        ? "the optional package 'webgpu' (Dawn) is not installed"
        : `Dawn (npm 'webgpu') failed to load: ${(e as Error).message.split('\n')[0]}`,
    };
  }
  let adapter: MinimalAdapter | null;
  try {
    adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, why: `Dawn's requestAdapter failed: ${(e as Error).message}` };
  }
  if (!adapter) return { ok: false, why: 'Dawn found no WebGPU adapter (no Vulkan driver?)' };
  const info = adapter.info ?? {};
  const description = info.description ?? '';
  const isFallbackAdapter = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
  const architecture = info.architecture ?? '';
  const device = info.device ?? '';
  return {
    ok: true,
    adapter: {
      vendor: info.vendor ?? '',
      architecture,
      device,
      description,
      isFallbackAdapter,
      software: isFallbackAdapter || SOFTWARE.test(`${architecture} ${device} ${description}`),
    },
  };
}

/** Imports tfjs's WebGPU backend after Dawn is in place, so it registers itself. */
export async function loadWebgpuBackend(): Promise<void> {
  if (!gpu) await installDawn();
  await import('@tensorflow/tfjs-backend-webgpu');
}
