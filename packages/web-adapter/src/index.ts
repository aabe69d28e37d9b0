export {
  initBackend,
  backendInfo,
  type InitBackendOptions,
  type BackendInfo,
  type TriedBackend,
  type WasmPaths,
} from './backend.js';
export { selfTest, type SelfTestResult } from '@cnnviz/core';
export type { GlRendererInfo } from './probe.js';
export type { GpuAdapterInfo } from '@cnnviz/core';
export {
  imageFromElement,
  imageFromFile,
  drawTensor,
  drawHeatmap,
  drawOverlay,
  type ImageSource,
  type DrawTarget,
  type ImageFromElementOptions,
  type ImageFromFileOptions,
  type DrawOptions,
  type DrawHeatmapOptions,
  type DrawOverlayOptions,
} from './canvas.js';
