import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  checkFinite,
  checkNumber,
  createRng,
  optimizationLoop,
  type Step,
  type VisionModel,
} from '@cnnviz/core';
import { checkImageFitsLayers, checkLayers, checkModelImage, forwardPixels } from './model-utils.js';
import { contentLoss, tvLoss } from './losses/style.js';
import { pixelParam } from './param/pixel.js';

export interface InvertFeaturesOptions {
  /** Layer whose features are matched. */
  layer: string;
  /** Optimisation steps. Default 200. */
  steps?: number;
  /** Weight of the total-variation prior (mean squared neighbour difference). Default 0.05. */
  tv?: number;
  /** Adam learning rate in pixel units. Default 0.03. */
  lr?: number;
  /** Seed of the starting noise. Default 0. */
  seed?: number;
  imageEvery?: number;
  signal?: AbortSignal;
  onProgress?: (step: Step) => void;
}

/**
 * Feature inversion (Mahendran & Vedaldi 2015): from grey noise, find an image whose features
 * at `layer` match those of `image`, with a total-variation prior. The feature term is the
 * squared distance relative to the target's squared norm, so `loss` (feature term + tv term)
 * reads as a fraction. Shallow layers reconstruct almost exactly; deep layers keep the layout
 * and lose the detail. An async iterator of steps; the last image is the reconstruction.
 */
export async function* invertFeatures(
  model: VisionModel,
  image: tf.Tensor3D,
  options: InvertFeaturesOptions,
): AsyncGenerator<Step, void, undefined> {
  checkModelImage(model, image);
  check(
    options !== null && typeof options === 'object',
    'BAD_OPTION',
    'options must be an object { layer, ... }',
  );
  const { layer } = options;
  checkLayers(model, [layer]);
  const steps = options.steps ?? 200;
  checkNumber(steps, 'steps', { min: 1, integer: true });
  const tv = options.tv ?? 0.05;
  checkNumber(tv, 'tv', { min: 0 });
  const lr = options.lr ?? 0.03;
  checkNumber(lr, 'lr', { min: 0, exclusiveMin: true });
  const [h, w, c] = image.shape;
  checkImageFitsLayers(model, h, w, [layer]);
  await checkFinite(image);

  const target = tf.tidy(() => {
    const x = tf.expandDims(tf.cast(image, 'float32'), 0) as tf.Tensor4D;
    return forwardPixels(model, x, [layer], { logits: false }).activations[layer];
  });
  const p = pixelParam([1, h, w, c], createRng(options.seed ?? 0), { sd: 0.1 });
  const optimizer = tf.train.adam(lr);
  try {
    yield* optimizationLoop(
      { steps, signal: options.signal, onProgress: options.onProgress, imageEvery: options.imageEvery },
      () => {
        const loss = optimizer.minimize(
          () => {
            const img = p.image();
            const feat = forwardPixels(model, img, [layer], { logits: false }).activations[layer];
            return tf.sum(tf.add(contentLoss(feat, target), tf.mul(tvLoss(img), tv))) as tf.Scalar;
          },
          true,
          p.variables,
        ) as tf.Scalar;
        p.clip();
        return { loss, image: () => tf.squeeze(tf.clipByValue(p.image(), 0, 1), [0]) as tf.Tensor3D };
      },
    );
  } finally {
    target.dispose();
    p.dispose();
    optimizer.dispose();
  }
}
