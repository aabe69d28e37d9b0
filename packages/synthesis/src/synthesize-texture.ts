import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  checkFinite,
  checkNumber,
  createRng,
  optimizationLoop,
  randomShift,
  roll,
  type Step,
  type VisionModel,
} from '@cnnviz/core';
import {
  checkImageFitsLayers,
  checkLayers,
  checkModelImage,
  forwardPixels,
  resolveOutputSize,
  zooLayers,
} from './model-utils.js';
import { colorStats, matchColors as matchColorStats, type ColorStats } from './color-transfer.js';
import { checkWeights, styleLoss } from './losses/style.js';
import { gramTargets } from './losses/targets.js';
import { lbfgs } from './optim/lbfgs.js';
import { fourierParam } from './param/fourier.js';
import { pixelParam, type PixelParam } from './param/pixel.js';
import type { ImageParam, ParamKind } from './param/types.js';
import { affineWarp } from './transforms/affine.js';

const DEGREES = [-8, -4, 0, 4, 8];
const SCALES = [0.9, 0.95, 1, 1.05, 1.1];

export interface SynthesizeTextureOptions {
  /** Layers whose Gram matrices are matched. Default: the zoo model's style layers. */
  layers?: string[];
  /** One non-negative weight per layer (positive sum). Default equal. */
  weights?: number[];
  /** Output size, a number (square) or `[h, w]`; independent of the texture's size. Default the texture's size. */
  size?: number | [number, number];
  /** Iterations (Adam steps or L-BFGS iterations). Default 200. */
  steps?: number;
  /** 'adam' (default) or 'lbfgs' (Gatys et al.'s choice; with 'pixel', unconstrained and clipped at the end). */
  optimizer?: 'adam' | 'lbfgs';
  /**
   * Image parameterisation: 'fourier' (default; Lucid's decorrelated 1/f spectrum, which keeps
   * MobileNetV2's stride-2 gradients from painting high-frequency colour noise) or 'pixel'.
   */
  param?: ParamKind;
  /** Adam learning rate (default 0.05 for 'fourier', 0.02 pixel units for 'pixel'), or L-BFGS trial step (default 1). */
  lr?: number;
  /**
   * Roll the image by a random shift of up to this many pixels each step (drawn once per step),
   * so no part of the texture always sits at the network's zero-padded border: removes the dark
   * frame and makes the 'fourier' texture tile seamlessly. Default a quarter of the smaller side.
   */
  jitter?: number;
  /**
   * Also turn and zoom the image a little at random each step (±8°, 0.9..1.1, wrapping around
   * like the roll): structure the network only sees from one pixel-grid phase (the stride-2
   * layers' blind spots) is no longer free to turn into fine stripes. Default true with Adam,
   * false with L-BFGS (whose line search needs one function per step).
   */
  warp?: boolean;
  /**
   * Give the result the texture's colour statistics (mean and covariance of RGB) by a linear
   * colour transfer (`matchColors`). MobileNetV2's and InceptionV3's Gram matrices barely see
   * colour, so without it a grey brick wall comes out with green and blue blotches. The last
   * tenth of the steps optimise the colour-matched image, so the network's loss is that of the
   * picture returned (matching from the first step flattened the large-scale variation of
   * grass; matching only the result raised the loss of a colour-sensitive network). Default true for RGB models.
   */
  matchColors?: boolean;
  /** Seed of the starting noise and the jitter. Default 0. */
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
  check(
    Array.isArray(layers),
    'BAD_OPTION',
    'layers must be a list of layer names (this model has no default style layers)',
  );
  checkLayers(model, layers, 'layers');
  const weights = checkWeights(layers.length, options.weights, 'weights');
  const steps = options.steps ?? 200;
  checkNumber(steps, 'steps', { min: 1, integer: true });
  const method = options.optimizer ?? 'adam';
  check(
    method === 'adam' || method === 'lbfgs',
    'BAD_OPTION',
    `optimizer must be 'adam' or 'lbfgs', got ${String(method)}`,
  );
  const param = options.param ?? 'fourier';
  check(
    param === 'pixel' || param === 'fourier',
    'BAD_OPTION',
    `param must be 'pixel' or 'fourier', got ${String(param)}`,
  );
  const lr = options.lr ?? (method === 'lbfgs' ? 1 : param === 'fourier' ? 0.05 : 0.02);
  checkNumber(lr, 'lr', { min: 0, exclusiveMin: true });
  const [h, w] = resolveOutputSize(options.size, [texture.shape[0], texture.shape[1]]);
  checkImageFitsLayers(model, texture.shape[0], texture.shape[1], layers, 'texture');
  checkImageFitsLayers(model, h, w, layers, 'size');
  await checkFinite(texture, 'texture');

  const jitter = options.jitter ?? Math.floor(Math.min(h, w) / 4);
  checkNumber(jitter, 'jitter', { min: 0, integer: true });
  const warp = options.warp ?? method === 'adam';
  check(typeof warp === 'boolean', 'BAD_OPTION', `warp must be true or false, got ${String(warp)}`);
  const c = texture.shape[2];
  const colors = options.matchColors ?? c === 3;
  check(
    typeof colors === 'boolean',
    'BAD_OPTION',
    `matchColors must be true or false, got ${String(colors)}`,
  );
  const targets = gramTargets(model, texture, layers);
  const colorTarget: ColorStats | undefined =
    colors && c === 3
      ? tf.tidy(() => colorStats(tf.expandDims(tf.cast(texture, 'float32'), 0) as tf.Tensor4D))
      : undefined;
  const rng = createRng(options.seed ?? 0);
  const shape: [number, number, number, number] = [1, h, w, c];
  const p: ImageParam = param === 'fourier' ? fourierParam(shape, rng) : pixelParam(shape, rng, { sd: 0.1 });
  // The loss as a function of the parameter's value, for Adam (the variable) and L-BFGS (its own iterate).
  let shift: [number, number] = [0, 0];
  let turn: [number, number] = [0, 1];
  let matching = false;
  const pixels = (value: tf.Tensor): tf.Tensor4D =>
    tf.tidy(() => {
      const img = p.render(value);
      return colorTarget && matching
        ? (tf.clipByValue(matchColorStats(img, colorTarget), 0, 1) as tf.Tensor4D)
        : img;
    });
  const f = (value: tf.Tensor): tf.Scalar => {
    let img = roll(pixels(value), shift[0], shift[1]);
    if (turn[0] !== 0 || turn[1] !== 1) img = affineWarp(img, turn[0], turn[1], 0, 'wrap');
    const out = forwardPixels(model, img, layers, { logits: false });
    return tf.sum(
      styleLoss(
        layers.map((l) => out.activations[l]),
        targets,
        weights,
      ),
    );
  };
  const variable = p.variables[0];
  const optimizer = method === 'adam' ? tf.train.adam(lr) : undefined;
  const lb = method === 'lbfgs' ? lbfgs(f, variable, { lr }) : undefined;
  try {
    yield* optimizationLoop(
      { steps, signal: options.signal, onProgress: options.onProgress, imageEvery: options.imageEvery },
      (i) => {
        if (i >= Math.floor(0.9 * steps)) matching = true;
        if (jitter > 0) shift = randomShift(jitter, rng);
        if (warp)
          turn = [DEGREES[Math.floor(rng() * DEGREES.length)], SCALES[Math.floor(rng() * SCALES.length)]];
        if (jitter > 0 || warp || i === Math.floor(0.9 * steps)) lb?.invalidate();
        let loss: tf.Scalar;
        if (lb) {
          loss = lb.step();
        } else {
          loss = (optimizer as tf.Optimizer).minimize(() => f(variable), true, [variable]) as tf.Scalar;
          if (param === 'pixel') (p as PixelParam).clip();
        }
        const current = lb ? lb.x : variable;
        return {
          loss,
          image: () =>
            tf.tidy(() => {
              const img = p.render(current);
              const out = colorTarget ? matchColorStats(img, colorTarget) : img;
              return tf.squeeze(tf.clipByValue(out, 0, 1), [0]) as tf.Tensor3D;
            }),
        };
      },
    );
  } finally {
    tf.dispose(targets);
    if (colorTarget) tf.dispose([colorTarget.mean, colorTarget.cov]);
    p.dispose();
    optimizer?.dispose();
    lb?.dispose();
  }
}
