/**
 * What the browser offers before any TF.js backend is loaded: the WebGPU adapter (asked for the
 * way tfjs-backend-webgpu asks, so that both see the same one) and the WebGL renderer.
 */
import {
  errorFirstLine,
  type GpuAdapterProbe,
  type MinimalGpu,
  probeGpuAdapter,
  SOFTWARE_RENDERER,
} from '@cnnviz/core';

/** The WebGL renderer: the unmasked renderer string where the browser gives it. */
export interface GlRendererInfo {
  renderer: string;
  /** True for software rasterisers (SwiftShader, llvmpipe, Microsoft Basic Render). */
  software: boolean;
}

export type Probe<T> = { ok: true; info: T } | { ok: false; why: string };

/** Asks `navigator.gpu` for a high-performance adapter and reports what it is. */
export async function probeWebgpu(): Promise<GpuAdapterProbe> {
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
  return probeGpuAdapter(
    gpu,
    'navigator.gpu',
    'no WebGPU adapter (GPU blocklisted or WebGPU disabled; Chromium on Linux needs --enable-unsafe-webgpu)',
  );
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
    return { ok: false, why: `creating a WebGL context threw: ${errorFirstLine(e)}` };
  }
  if (!gl) return { ok: false, why: 'this browser gives no WebGL context (disabled or blocklisted GPU)' };
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
  // Free the context now: browsers cap live WebGL contexts, and tfjs opens its own.
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return { ok: true, info: { renderer, software: SOFTWARE_RENDERER.test(renderer) } };
}
