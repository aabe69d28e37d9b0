export type { Attribution, BatchAttribution, AttributionOf } from './result.js';
export type { Target, TargetOptions } from './target.js';
export type { BatchOptions, Progress } from './batching.js';
export { saliency, type SaliencyOptions } from './saliency.js';
export { smoothGrad, type SmoothGradOptions } from './smooth-grad.js';
export {
  integratedGradients,
  type IntegratedGradientsOptions,
  type IntegratedGradientsExtra,
} from './integrated-gradients.js';
export { quadrature, type IntegrationMethod } from './quadrature.js';
export type { CamOptions, CamExtra } from './cam.js';
export { gradCam, type GradCamOptions } from './grad-cam.js';
export { gradCamPlusPlus, type GradCamPlusPlusOptions } from './grad-cam-plus-plus.js';
export { guidedBackprop, type GuidedBackpropOptions } from './guided-backprop.js';
export { guidedGradCam, type GuidedGradCamOptions, type GuidedGradCamExtra } from './guided-grad-cam.js';
export { occlusion, type OcclusionOptions, type OcclusionExtra } from './occlusion.js';
export {
  visualizeFilters,
  filterGrid,
  type VisualizeFiltersOptions,
  type FilterGridOptions,
} from './visualize-filters.js';
export { topPatches, type TopPatchesOptions, type Patch } from './top-patches.js';
export { receptiveField, receptiveFieldBox, type ReceptiveField, type Box } from './receptive-field.js';
export { toHeatmap, overlay, type HeatmapOptions, type OverlayOptions, type Renderable } from './render.js';
export { upsample } from './upsample.js';
export { defaultCamLayer } from './layers.js';
export {
  randomizationCheck,
  type RandomizationCheckOptions,
  type RandomizationStep,
  type Technique,
  type TechniqueName,
} from './randomization-check.js';
export { spearman } from './spearman.js';
