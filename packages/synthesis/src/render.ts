import * as tf from '@tensorflow/tfjs-core';
import {
  adamOptimizer,
  check,
  checkImage,
  checkNumber,
  createRng,
  gaussianBlur,
  optimizationLoop,
  type Objective,
  type Step,
  type VisionModel,
} from '@cnnviz/core';
import {
  checkImageFitsLayers,
  checkLayers,
  evaluateObjective,
  fixedInputSize,
  inputChannels,
  resolveOutputSize,
} from './model-utils.js';
import { batchGram } from './losses/style.js';
import { fourierParam } from './param/fourier.js';
import { pixelParam, type PixelParam } from './param/pixel.js';
import type { ImageParam, ParamKind } from './param/types.js';
import {
  compose,
  jitter as jitterTransform,
  standardTransforms,
  type Transform,
} from './transforms/random.js';

/** Options shared by `visualizeClass` and `visualizeUnit` (Lucid's `render_vis` knobs plus the lecture's regularisers). */
export interface RenderOptions {
  /** Optimisation steps. Default 200. */
  steps?: number;
  /**
   * Step size. 'pixel': each step moves pixels by `lr` times the gradient divided by its RMS
   * (plain normalised gradient ascent, the lecture's method), default 0.02. 'fourier': Adam's
   * learning rate on the spectrum, default 0.05 (Lucid).
   */
  lr?: number;
  /** 'pixel': L2 decay, pixels shrink towards grey by this fraction per step; 'fourier': weight of an L2 penalty. Default 1e-3 for 'pixel', 0 for 'fourier'. */
  l2?: number;
  /** 'pixel' only: blur the image every this many steps (0 = never). Default 10 for 'pixel'. */
  blurEvery?: number;
  /** Gaussian sigma of that blur, in pixels. Default 0.5. */
  blurSigma?: number;
  /** 'pixel' only: each step, set this fraction (0..1) of pixels with the smallest value norm to grey. Default 0. */
  clipValue?: number;
  /** 'pixel' only: each step, zero the gradient of this fraction (0..1) of pixels with the smallest gradient norm. Default 0. */
  clipGradient?: number;
  /** Random roll of up to this many pixels before each forward pass; used when `transforms` is not given. Default size/16. */
  jitter?: number;
  /** Image parameterisation. Default 'pixel' for visualizeClass, 'fourier' for visualizeUnit. */
  param?: ParamKind;
  /**
   * Random transforms before each forward pass: 'standard' (Lucid's pad, jitter, scale, rotate),
   * 'none', or a list. Default: just `jitter` for 'pixel', 'standard' for 'fourier'.
   */
  transforms?: Transform[] | 'standard' | 'none';
  /**
   * 'pixel' only: the image the ascent starts from (plus a little noise) and that L2 decay, blur
   * and clipping pull towards — a grey level or an image `[H,W,C]` of the output size, e.g. the
   * data set's mean image. Default 0.5 (mid-grey).
   */
  init?: number | tf.Tensor3D;
  /** Seed for the initial image and the transforms. Default 0. */
  seed?: number;
  /** Output size, a number (square) or `[h, w]`. Default the model's input size, else 128. */
  size?: number | [number, number];
  /** Number of images optimised together. Default 1. */
  batch?: number;
  /** Weight of Lucid's diversity term (batch > 1): penalises similar Gram matrices at `diversityLayer`. Default 0. */
  diversity?: number;
  /** Layer whose Gram matrices the diversity term compares. Default the objective's first layer. */
  diversityLayer?: string;
  /** Yield the current image every this many steps (always on the last). */
  imageEvery?: number;
  signal?: AbortSignal;
  onProgress?: (step: Step) => void;
}

/** Fraction `frac` of each item's pixels with the smallest channel norm of `t` `[N,H,W,C]`: a 0/1 keep-mask `[N,H,W,1]`. */
function keepLargest(t: tf.Tensor4D, frac: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w] = t.shape;
    const norm = tf.reshape(tf.sqrt(tf.sum(tf.square(t), 3)), [n, h * w]);
    const keep = Math.max(1, h * w - Math.floor(frac * h * w));
    const { values } = tf.topk(norm, keep);
    const threshold = tf.slice(values, [0, keep - 1], [n, 1]);
    return tf.reshape(tf.cast(tf.greaterEqual(norm, threshold), 'float32'), [n, h, w, 1]) as tf.Tensor4D;
  });
}

/** Lucid's `diversity`: mean over items of the summed cosine similarity of its Gram matrix with the others'. */
function diversityTerm(act: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const n = act.shape[0];
    const grams = tf.reshape(batchGram(act), [n, -1]);
    const unit = tf.div(grams, tf.add(tf.norm(grams, 'euclidean', 1, true), 1e-10));
    const sim = tf.matMul(unit, unit, false, true);
    // Sum of off-diagonal entries over n.
    return tf.div(tf.sub(tf.sum(sim), tf.sum(tf.mul(sim, tf.eye(n)))), n) as tf.Scalar;
  });
}

/**
 * Gradient ascent on `objective` (Lucid's `render_vis`): parameterisation, transforms and
 * regularisers are separate pieces wired here. Validation happens on the first `next()`.
 */
export async function* render(
  model: VisionModel,
  objective: Objective,
  opts: RenderOptions,
  defaultParam: ParamKind,
): AsyncGenerator<Step, void, undefined> {
  check(opts !== null && typeof opts === 'object', 'BAD_OPTION', 'options must be an object');
  const param = opts.param ?? defaultParam;
  check(
    param === 'pixel' || param === 'fourier',
    'BAD_OPTION',
    `param must be 'pixel' or 'fourier', got ${String(param)}`,
  );
  const steps = opts.steps ?? 200;
  checkNumber(steps, 'steps', { min: 1, integer: true });
  const isPixel = param === 'pixel';
  const lr = opts.lr ?? (isPixel ? 0.02 : 0.05);
  checkNumber(lr, 'lr', { min: 0, exclusiveMin: true });
  const l2 = opts.l2 ?? (isPixel ? 1e-3 : 0);
  checkNumber(l2, 'l2', { min: 0, max: isPixel ? 1 : undefined });
  const blurEvery = opts.blurEvery ?? (isPixel ? 10 : 0);
  checkNumber(blurEvery, 'blurEvery', { min: 0, integer: true });
  const blurSigma = opts.blurSigma ?? 0.5;
  checkNumber(blurSigma, 'blurSigma', { min: 0 });
  const clipValue = opts.clipValue ?? 0;
  checkNumber(clipValue, 'clipValue', { min: 0, max: 1 });
  const clipGradient = opts.clipGradient ?? 0;
  checkNumber(clipGradient, 'clipGradient', { min: 0, max: 1 });
  const batch = opts.batch ?? 1;
  checkNumber(batch, 'batch', { min: 1, integer: true });
  const diversity = opts.diversity ?? 0;
  checkNumber(diversity, 'diversity', { min: 0 });
  const seed = opts.seed ?? 0;
  checkNumber(seed, 'seed');
  const fixed = fixedInputSize(model);
  const [h, w] = resolveOutputSize(opts.size, fixed ?? [128, 128]);
  if (opts.init !== undefined && typeof opts.init !== 'number') {
    const init = opts.init;
    checkImage(init, { batch: false, channels: inputChannels(model), name: 'init' });
    check(
      init.shape[0] === h && init.shape[1] === w,
      'BAD_IMAGE',
      () => `init must have the output size ${h}x${w}, got ${init.shape[0]}x${init.shape[1]}`,
    );
  } else if (opts.init !== undefined) {
    checkNumber(opts.init, 'init', { min: 0, max: 1 });
  }
  const jitterPx = opts.jitter ?? Math.max(1, Math.round(Math.min(h, w) / 16));
  checkNumber(jitterPx, 'jitter', { min: 0, integer: true });
  check(
    Array.isArray(objective?.taps) && typeof objective?.evaluate === 'function',
    'BAD_OPTION',
    'objective must be an Objective (channel(), neuron(), layerL2(), classLogit(), ...) or a "layer:unit" string',
  );
  if (objective.taps.length > 0) checkLayers(model, objective.taps, 'objective');
  const diversityLayer = opts.diversityLayer ?? objective.taps[0];
  if (diversity > 0) {
    check(batch > 1, 'BAD_OPTION', 'diversity needs batch > 1 (it compares the images of one batch)');
    check(
      diversityLayer !== undefined,
      'BAD_OPTION',
      'diversity needs diversityLayer when the objective taps no layer',
    );
    checkLayers(model, [diversityLayer], 'diversityLayer');
  }
  // A class objective reads the logits: the whole network must fit.
  const deepest = objective.taps.length > 0 ? objective.taps : model.layers.slice(-1).map((l) => l.name);
  checkImageFitsLayers(model, h, w, deepest, 'size');
  let transforms: Transform[];
  if (opts.transforms === undefined)
    transforms = isPixel
      ? jitterPx > 0
        ? [jitterTransform(jitterPx)]
        : []
      : standardTransforms(Math.min(h, w));
  else if (opts.transforms === 'standard') transforms = standardTransforms(Math.min(h, w));
  else if (opts.transforms === 'none') transforms = [];
  else {
    check(
      Array.isArray(opts.transforms) && opts.transforms.every((t) => typeof t === 'function'),
      'BAD_OPTION',
      "transforms must be 'standard', 'none' or an array of transform functions",
    );
    transforms = opts.transforms;
  }
  const transform = compose(transforms);

  const rng = createRng(seed);
  const shape: [number, number, number, number] = [batch, h, w, inputChannels(model)];
  const p: ImageParam = isPixel ? pixelParam(shape, rng, { centre: opts.init }) : fourierParam(shape, rng);
  const optimizer = isPixel ? undefined : adamOptimizer(lr);
  const taps =
    diversity > 0 && !objective.taps.includes(diversityLayer)
      ? [...objective.taps, diversityLayer]
      : objective.taps;

  const loss = (): tf.Scalar => {
    const img = p.image();
    // The diversity term reads its layer whole.
    const whole = diversity > 0 ? [diversityLayer] : [];
    const { values, out } = evaluateObjective(model, transform(img, rng), objective, taps, whole);
    let l = tf.neg(tf.mean(values)) as tf.Scalar;
    if (diversity > 0) l = tf.add(l, tf.mul(diversityTerm(out.activations[diversityLayer]), diversity));
    if (!isPixel && l2 > 0) l = tf.add(l, tf.mul(tf.mean(tf.square(tf.sub(img, 0.5))), l2));
    return l as tf.Scalar;
  };

  const pixelStep = (i: number, pp: PixelParam): tf.Scalar => {
    const { value, grads } = tf.variableGrads(loss, [pp.offset]);
    let g = grads[pp.offset.name] as tf.Tensor4D;
    if (clipGradient > 0) g = tf.mul(g, keepLargest(g, clipGradient));
    const rms = tf.add(tf.sqrt(tf.mean(tf.square(g))), 1e-12);
    let v: tf.Tensor4D = tf.sub(pp.offset, tf.mul(tf.div(g, rms), lr));
    if (l2 > 0) v = tf.mul(v, 1 - l2);
    if (blurEvery > 0 && blurSigma > 0 && (i + 1) % blurEvery === 0) v = gaussianBlur(v, blurSigma);
    if (clipValue > 0) v = tf.mul(v, keepLargest(v, clipValue));
    pp.offset.assign(v);
    pp.clip();
    return value;
  };

  try {
    yield* optimizationLoop(
      { steps, signal: opts.signal, onProgress: opts.onProgress, imageEvery: opts.imageEvery },
      (i) => {
        const value = isPixel ? pixelStep(i, p as PixelParam) : optimizer!.minimize(loss, p.variables);
        return {
          loss: value,
          image: () => {
            const img = tf.clipByValue(p.image(), 0, 1);
            // A batch is laid side by side: [H, N*W, C]; tf.split(image, N, 1) recovers the items.
            return (batch === 1 ? tf.squeeze(img, [0]) : tf.concat(tf.unstack(img), 1)) as tf.Tensor3D;
          },
        };
      },
    );
  } finally {
    p.dispose();
    optimizer?.dispose();
  }
}
