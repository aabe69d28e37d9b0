import type { VisionModel } from '@cnnviz/core';

/** Loads a model a job names: a zoo name (`fashion-cnn`, `mobilenet-v2`, `inception-v3`) or a model.json path. */
export type ModelLoader = (ref: string, size?: number) => Promise<VisionModel>;

/** The default loader: @cnnviz/models' zoo by name, else `loadModel(path)`. */
export const loadModelRef: ModelLoader = async (ref, size) => {
  const { zoo, loadModel } = await import('@cnnviz/models');
  if (ref === 'fashion-cnn') return zoo.fashionCnn();
  if (ref === 'mobilenet-v2') return zoo.mobilenetV2Features(size ? { inputSize: size } : {});
  if (ref === 'inception-v3') return zoo.inceptionV3Features(size ? { inputSize: size } : {});
  return loadModel(ref);
};
