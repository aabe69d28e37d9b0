import * as tf from '@tensorflow/tfjs-core';
import { check, checkFinite, checkNumber, createRng, optimizationLoop, randomNormal, type Step, type VisionModel } from '@cnnviz/core';
import { checkImageFitsLayers, checkLayers, checkModelImage, forwardPixels, resolveOutputSize, zooLayers } from './model-utils.js';
import { checkWeights, styleLoss } from './losses/style.js';
import { gramTargets } from './losses/targets.js';
import { lbfgs } from './optim/lbfgs.js';

export interface SynthesizeTextureOptions {
  /** Layers whose Gram matrices are matched. Default: the zoo model's style layers. */
  layers?: string[];
  /** One non-negative weight per layer (positive sum). Default equal. */
  weights?: number[];
  /** Output size, a number (square) or `[h, w]`; independent of the texture's size. Default the texture's size. */
  size?: number | [number, number];
  /** Iterations (Adam steps or L-BFGS iterations). Default 200. */
  steps?: number;
  /** 'adam' (default; pixels projected to 0..1 each step) or 'lbfgs' (Gatys et al.'s choice; unconstrained, clipped at the end). */
  optimizer?: 'adam' | 'lbfgs';
  /** Adam learning rate in pixel units (default 0.02), or L-BFGS trial step (default 1). */
  lr?: number;
  /** Seed of the starting noise. Default 0. */
  seed?: number;
  imageEvery?: number;
  signal?: AbortSignal;
  onProgress?: (step: Step) => void;
}

/**
 * Texture synthesis (Gatys et al. 2015): from noise, match the Gram matrices (core's
 * `gramMatrix`) of `texture` at several layers, weighted; Grams average over positions, so the
 * output can have any size. `loss` is the style loss (see `styleLoss`: 1 ≈ as far as a blank
 * image, 0 = identical statistics). An async iterator of steps; the last image is the texture.
 */
export async function* synthesizeTexture(
  model: VisionModel,
  texture: tf.Tensor3D,
  options: SynthesizeTextureOptions = {},
): AsyncGenerator<Step, void, undefined> {
  checkModelImage(model, texture, 'texture');
  check(options !== null && typeof options === 'object', 'BAD_OPTION', 'options must be an object');
  const layers = options.layers ?? zooLayers(model).style;
  check(Array.isArray(layers), 'BAD_OPTION', 'layers must be a list of layer names (this model has no default style layers)');
  checkLayers(model, layers, 'layers');
  const weights = checkWeights(layers.length, options.weights, 'weights');
  const steps = options.steps ?? 200;
  checkNumber(steps, 'steps', { min: 1, integer: true });
  const method = options.optimizer ?? 'adam';
  check(method === 'adam' || method === 'lbfgs', 'BAD_OPTION', `optimizer must be 'adam' or 'lbfgs', got ${String(method)}`);
  const lr = options.lr ?? (method === 'adam' ? 0.02 : 1);
  checkNumber(lr, 'lr', { min: 0, exclusiveMin: true });
  const [h, w] = resolveOutputSize(options.size, [texture.shape[0], texture.shape[1]]);
  checkImageFitsLayers(model, texture.shape[0], texture.shape[1], layers, 'texture');
  checkImageFitsLayers(model, h, w, layers, 'size');
  await checkFinite(texture, 'texture');

  const c = texture.shape[2];
  const targets = gramTargets(model, texture, layers);
  const f = (x: tf.Tensor): tf.Scalar => {
    const out = forwardPixels(model, tf.add(x, 0.5) as tf.Tensor4D, layers);
    return tf.sum(styleLoss(layers.map((l) => out.activations[l]), targets, weights));
  };
  const x0 = tf.tidy(() => randomNormal([1, h, w, c], createRng(options.seed ?? 0), 0, 0.1));
  const variable = method === 'adam' ? tf.variable(x0, true) : undefined;
  const optimizer = method === 'adam' ? tf.train.adam(lr) : undefined;
  const lb = method === 'lbfgs' ? lbfgs(f, x0, { lr }) : undefined;
  x0.dispose();
  try {
    yield* optimizationLoop(
      { steps, signal: options.signal, onProgress: options.onProgress, imageEvery: options.imageEvery },
      () => {
        let loss: tf.Scalar;
        if (variable && optimizer) {
          loss = optimizer.minimize(() => f(variable), true, [variable]) as tf.Scalar;
          variable.assign(tf.clipByValue(variable, -0.5, 0.5));
        } else {
          loss = (lb as ReturnType<typeof lbfgs>).step();
        }
        const current = variable ?? (lb as ReturnType<typeof lbfgs>).x;
        return { loss, image: () => tf.squeeze(tf.clipByValue(tf.add(current, 0.5), 0, 1), [0]) as tf.Tensor3D };
      },
    );
  } finally {
    tf.dispose(targets);
    variable?.dispose();
    optimizer?.dispose();
    lb?.dispose();
  }
}
