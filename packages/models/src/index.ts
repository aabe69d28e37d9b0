export { fromLayersModel, type LayersModelOptions, type ModelOptions } from './layers-model.js';
export { fromGraphModel, type GraphModelOptions } from './graph-model.js';
export { loadModel, fileHandler, type LoadModelOptions } from './load.js';
export { layerSupport, type LayerSupport } from './supported.js';
export { DEFAULT_MAX_MODEL_JSON_BYTES, httpHandler, type ModelFileLimits } from './model-files.js';
export { zoo, zooEntries, type ZooEntry, type ZooModel, type BackboneOptions } from './zoo.js';
export { images, imageCatalog, type ImageEntry, type LoadImageOptions } from './images.js';
export { datasets, FASHION_LABELS, type LabelledImages } from './datasets.js';
export { setAssetBase } from './assets.js';
export { cutArtifacts } from './cut-artifacts.js';
export {
  zooArtifacts,
  zooLayersModel,
  zooWeightPackages,
  setZooBase,
  loadNsfwjsBackbone,
  type ZooBackboneName,
  type ZooLayersModelOptions,
} from './zoo-weights.js';
