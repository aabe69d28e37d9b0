/**
 * What the browser offers before any TF.js backend is loaded: the WebGPU adapter (asked for the
 * way tfjs-backend-webgpu asks, so that both see the same one) and the WebGL renderer.
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

/** The WebGL renderer: the unmasked renderer string where the browser gives it. */
export interface GlRendererInfo {
  renderer: string;
  /** True for software rasterisers (SwiftShader, llvmpipe, Microsoft Basic Render). */
  software: boolean;
}

export type Probe<T> = { ok: true; info: T } | { ok: false; why: string };

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|microsoft basic render|\bwarp\b/i;

type InfoFields = Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>> & {
  isFallbackAdapter?: boolean;
};
interface MinimalAdapter {
  info?: InfoFields;
  isFallbackAdapter?: boolean;
  requestAdapterInfo?(): Promise<InfoFields>;
}
interface MinimalGpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<MinimalAdapter | null>;
}

const message = (e: unknown) => String((e as Error)?.message ?? e).split('\n')[0];

/** Asks `navigator.gpu` for a high-performance adapter and reports what it is. */
export async function probeWebgpu(): Promise<Probe<GpuAdapterInfo>> {
  const gpu = (globalThis as { navigator?: { gpu?: MinimalGpu } }).navigator?.gpu;
  if (!gpu) {
    const secure = (globalThis as { isSecureContext?: boolean }).isSecureContext;
    return {
      ok: false,
      why:
        secure === false
          ? 'navigator.gpu is missing: WebGPU needs a secure context (https or localhost)'
          : 'this browser has no WebGPU (navigator.gpu is missing)',
    };
  }
  let adapter: MinimalAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ok: false, why: `navigator.gpu.requestAdapter failed: ${message(e)}` };
  }
  if (!adapter) {
    return {
      ok: false,
      why: 'no WebGPU adapter (GPU blocklisted or WebGPU disabled; Chromium on Linux needs --enable-unsafe-webgpu)',
    };
  }
  // Chrome 127+ has adapter.info (isFallbackAdapter moved there in 136); older ones only requestAdapterInfo().
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
    info: {
      vendor: info.vendor ?? '',
      architecture,
      device,
      description,
      isFallbackAdapter,
      software: isFallbackAdapter || SOFTWARE.test(`${architecture} ${device} ${description}`),
    },
  };
}

/** Opens a throw-away WebGL context to read the renderer string. */
export function probeWebgl(): Probe<GlRendererInfo> {
  const g = globalThis as {
    document?: { createElement(tag: 'canvas'): HTMLCanvasElement };
    OffscreenCanvas?: typeof OffscreenCanvas;
  };
  let canvas: HTMLCanvasElement | OffscreenCanvas | undefined;
  if (g.OffscreenCanvas) canvas = new g.OffscreenCanvas(1, 1);
  else if (g.document) canvas = g.document.createElement('canvas');
  if (!canvas) return { ok: false, why: 'no canvas to create a WebGL context on' };
  const c = canvas;
  let gl: WebGL2RenderingContext | WebGLRenderingContext | null;
  try {
    gl = (c.getContext('webgl2') ?? c.getContext('webgl')) as
      WebGL2RenderingContext | WebGLRenderingContext | null;
  } catch (e) {
    return { ok: false, why: `creating a WebGL context threw: ${message(e)}` };
  }
  if (!gl) return { ok: false, why: 'this browser gives no WebGL context (disabled or blocklisted GPU)' };
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
  // Free the context now: browsers cap live WebGL contexts, and tfjs opens its own.
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return { ok: true, info: { renderer, software: SOFTWARE.test(renderer) } };
}
