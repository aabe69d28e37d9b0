import { CnnvizError } from '@cnnviz/core';

const missing = () => {
  throw new CnnvizError('MODEL_LOAD', 'the playground does not bundle InceptionV3 (33 MB of weights)');
};

/** Stands in for nsfwjs/models/inception_v3 in the playground's bundle (see vite.config.ts). */
export const InceptionV3Model = { modelJson: missing, weightBundles: [] };
