export {
  initBackend,
  backendInfo,
  type InitBackendOptions,
  type BackendInfo,
  type TriedBackend,
  type WasmPaths,
} from './backend.js';
export { selfTest, type SelfTestResult } from './self-test.js';
export type { GpuAdapterInfo, GlRendererInfo } from './probe.js';
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
