import { errorFirstLine } from './backend-select.js';

/**
 * What a WebGPU adapter is, asked the way tfjs-backend-webgpu asks (high-performance), so that the
 * adapters' backend selection sees the adapter tfjs will use. `@cnnviz/node` passes Dawn's
 * `navigator.gpu`, `@cnnviz/web` the browser's.
 */

/** What a WebGPU adapter says about itself; `isFallbackAdapter` marks software renderers. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** True for software renderers (SwiftShader, lavapipe/llvmpipe, WARP) whatever the flag says. */
  software: boolean;
}

/** The adapter, or why there is none. */
export type GpuAdapterProbe = { ok: true; adapter: GpuAdapterInfo } | { ok: false; why: string };

type InfoFields = Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & {
  isFallbackAdapter?: boolean;
};

/** The part of `GPUAdapter` read here (typed loosely: neither Node nor every browser has WebGPU's types). */
export interface MinimalGpuAdapter {
  info?: InfoFields;
  isFallbackAdapter?: boolean;
  requestAdapterInfo?(): Promise<InfoFields>;
}

/** The part of `GPU` (`navigator.gpu`) used here. */
export interface MinimalGpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<MinimalGpuAdapter | null>;
}

/** Software renderers, by the names their drivers give. */
export const SOFTWARE_RENDERER = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render|\bwarp\b/i;

/**
 * Requests a high-performance adapter from `gpu` and describes it. `what` names the requester in
 * messages ("Dawn", "navigator.gpu"); `none` says why no adapter may have come back.
 */
export async function probeGpuAdapter(gpu: MinimalGpu, what: string, none: string): Promise<GpuAdapterProbe> {
  let adapter: MinimalGpuAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, why: `${what}: requestAdapter failed: ${errorFirstLine(e)}` };
  }
  if (!adapter) return { ok: false, why: none };
  // Chrome 127+ and Dawn have adapter.info (isFallbackAdapter moved there in 136); older browsers only requestAdapterInfo().
  let info: InfoFields = adapter.info ?? {};
  if (!adapter.info && typeof adapter.requestAdapterInfo === 'function') {
    try {
      info = await adapter.requestAdapterInfo();
    } catch {
      // Not fatal: the adapter works, we only know less about it.
    }
  }
  const isFallbackAdapter = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
  const architecture = info.architecture ?? '';
  const device = info.device ?? '';
  const description = info.description ?? '';
  return {
    ok: true,
    adapter: {
      vendor: info.vendor ?? '',
      architecture,
      device,
      description,
      isFallbackAdapter,
      software: isFallbackAdapter || SOFTWARE_RENDERER.test(`${architecture} ${device} ${description}`),
    },
  };
}

/** The adapter in a few words, for reasons and `cnnviz info`. */
export function describeGpuAdapter(a: GpuAdapterInfo): string {
  const what = [a.vendor, a.architecture, a.description].filter(Boolean).join(' ') || 'unnamed adapter';
  return a.isFallbackAdapter ? `${what}, isFallbackAdapter` : what;
}

interface FeatureAdapter {
  features?: { has(name: string): boolean };
  requestDevice(descriptor?: { requiredFeatures?: Iterable<string> }): Promise<unknown>;
}

/**
 * `gpu` whose adapters create their devices with the `shader-f16` feature wherever the adapter offers it, so that
 * cnnviz's half-precision kernels can run on the device tfjs-backend-webgpu makes (its factory requests only
 * timestamp-query and bgra8unorm-storage). Requesting a feature costs nothing until a shader uses it. The adapter
 * is wrapped in a Proxy that passes everything else through to it.
 */
export function withShaderF16<G extends MinimalGpu>(gpu: G): G {
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  const wrapAdapter = (adapter: MinimalGpuAdapter | null) => {
    const a = adapter as (MinimalGpuAdapter & FeatureAdapter) | null;
    if (a === null || !a.features?.has('shader-f16') || typeof a.requestDevice !== 'function') return adapter;
    const requestDevice: FeatureAdapter['requestDevice'] = (descriptor = {}) => {
      const features = [...(descriptor.requiredFeatures ?? [])];
      if (!features.includes('shader-f16')) features.push('shader-f16');
      return a.requestDevice({ ...descriptor, requiredFeatures: features });
    };
    return new Proxy(a, {
      get(target, key) {
        if (key === 'requestDevice') return requestDevice;
        const v = Reflect.get(target, key, target) as unknown;
        return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
      },
    });
  };
  return new Proxy(gpu, {
    get(target, key) {
      if (key === 'requestAdapter')
        return async (options?: { powerPreference?: string }) => wrapAdapter(await requestAdapter(options));
      const v = Reflect.get(target, key, target) as unknown;
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  });
}
