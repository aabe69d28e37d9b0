import * as tf from '@tensorflow/tfjs-core';
import { extractFeatures } from '@cnnviz/embedding';
import { datasets } from '@cnnviz/models';
import type { Gallery } from '../gallery.js';

/** The feature layer of fashion-cnn the embedding sections use: its last hidden layer. */
export const FEATURE_LAYER = 'dense1';

export interface FashionSet {
  images: tf.Tensor4D;
  labels: Int32Array;
  classNames: string[];
  /** `[N, F]` features at FEATURE_LAYER. */
  features: tf.Tensor2D;
  /** Time the feature extraction took. */
  ms: number;
  dispose(): void;
}

let cached: Promise<FashionSet> | undefined;

/** The first `n` bundled Fashion-MNIST test images with their fashion-cnn features (computed once). */
export function fashionSet(g: Gallery, n: number): Promise<FashionSet> {
  cached ??= (async () => {
    const model = await g.fashion();
    const data = await datasets.fashionMnistTest1k();
    const images = tf.tidy(() =>
      tf.slice(data.images, [0, 0, 0, 0], [Math.min(n, data.images.shape[0]), -1, -1, -1]),
    ) as tf.Tensor4D;
    const labels = data.labels.slice(0, images.shape[0]);
    data.dispose();
    const start = performance.now();
    const features = await extractFeatures(model, images, { layer: FEATURE_LAYER, batchSize: 100 });
    const ms = Math.round(performance.now() - start);
    return {
      images,
      labels,
      classNames: data.classNames,
      features,
      ms,
      dispose: () => tf.dispose([images, features]),
    };
  })();
  return cached;
}
