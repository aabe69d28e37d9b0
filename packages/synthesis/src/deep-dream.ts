import * as tf from '@tensorflow/tfjs-core';
import {
  add,
  check,
  checkFinite,
  checkNumber,
  createRng,
  layerL2,
  optimizationLoop,
  parseObjective,
  randomShift,
  resize,
  roll,
  type Objective,
  type Step,
  type VisionModel,
} from '@cnnviz/core';
import {
  checkImageFitsLayers,
  checkLayers,
  checkModelImage,
  evaluateObjective,
  zooLayers,
} from './model-utils.js';

export interface DeepDreamOptions {
  /**
   * Layer whose activations' mean square is maximised (DeepDream's objective). Default: the zoo
   * model's dream layers (`entry.layersOfInterest.dream`), their objectives added.
   */
  layer?: string;
  /** Any objective instead of a layer (e.g. one channel); a `"layer:unit"` string works too. */
  objective?: Objective | string;
  /** Number of scales, smallest first. Default 3. */
  octaves?: number;
  /** Size ratio between successive octaves. Default 1.4. */
  octaveScale?: number;
  /** Gradient steps per octave. Default 10. */
  steps?: number;
  /** Step size in pixel units (0..1) after normalising the gradient by its mean absolute value. Default 0.01. */
  stepSize?: number;
  /** Random roll of up to this many pixels before each step (undone after). Default 16. */
  jitter?: number;
  /** Seed of the jitter. Default 0. */
  seed?: number;
  /** Yield the current image (at the current octave's size) every this many steps. */
  imageEvery?: number;
  signal?: AbortSignal;
  onProgress?: (step: Step) => void;
}

/**
 * DeepDream (Mordvintsev et al. 2015): gradient ascent on the image itself to amplify what a
 * layer sees. Octaves run from small to full size; the detail added at one octave is upscaled
 * and carried into the next (the original algorithm), so large patterns form at coarse scales
 * and fine texture at fine ones. Each step rolls the image by a random jitter, follows the
 * gradient normalised by its mean absolute value, rolls back and clips to 0..1. An async
 * iterator of `octaves * steps` steps (`loss` is minus the objective); the last image is the
 * dream at the input's size.
 */
export async function* deepDream(
  model: VisionModel,
  image: tf.Tensor3D,
  options: DeepDreamOptions = {},
): AsyncGenerator<Step, void, undefined> {
  checkModelImage(model, image);
  check(options !== null && typeof options === 'object', 'BAD_OPTION', 'options must be an object');
  check(
    options.layer === undefined || options.objective === undefined,
    'BAD_OPTION',
    'give either layer or objective, not both',
  );
  let objective: Objective;
  if (options.objective !== undefined) {
    objective = typeof options.objective === 'string' ? parseObjective(options.objective) : options.objective;
  } else {
    const layers = options.layer !== undefined ? [options.layer] : zooLayers(model).dream;
    check(
      layers !== undefined,
      'BAD_OPTION',
      'deepDream needs a layer (or an objective); this model has no default dream layer',
    );
    checkLayers(model, layers);
    const [first, ...rest] = layers.map((l) => layerL2(l));
    objective = rest.length > 0 ? add(first, rest[0], ...rest.slice(1)) : first;
  }
  if (objective.taps.length > 0) checkLayers(model, objective.taps, 'objective');
  const octaves = options.octaves ?? 3;
  checkNumber(octaves, 'octaves', { min: 1, integer: true });
  const octaveScale = options.octaveScale ?? 1.4;
  checkNumber(octaveScale, 'octaveScale', { min: 1 });
  const steps = options.steps ?? 10;
  checkNumber(steps, 'steps', { min: 1, integer: true });
  const stepSize = options.stepSize ?? 0.01;
  checkNumber(stepSize, 'stepSize', { min: 0 });
  const jitter = options.jitter ?? 16;
  checkNumber(jitter, 'jitter', { min: 0, integer: true });
  const [H, W] = image.shape;
  const sizes: [number, number][] = [];
  for (let o = octaves - 1; o >= 0; o--) {
    const f = octaveScale ** o;
    sizes.push([Math.max(1, Math.round(H / f)), Math.max(1, Math.round(W / f))]);
  }
  const deepest = objective.taps.length > 0 ? objective.taps : model.layers.slice(-1).map((l) => l.name);
  checkImageFitsLayers(
    model,
    sizes[0][0],
    sizes[0][1],
    deepest,
    `the smallest octave (of ${octaves} at scale ${octaveScale})`,
  );
  await checkFinite(image);

  const rng = createRng(options.seed ?? 0);
  const original = tf.tidy(() => tf.expandDims(tf.cast(image, 'float32'), 0)) as tf.Tensor4D;
  let base: tf.Tensor4D | undefined; // the original image at the current octave's size
  let current: tf.Tensor4D | undefined; // base + detail
  const swap = (next: tf.Tensor4D, which: 'base' | 'current') => {
    const kept = tf.keep(next);
    if (which === 'base') {
      base?.dispose();
      base = kept;
    } else {
      current?.dispose();
      current = kept;
    }
  };

  try {
    yield* optimizationLoop(
      {
        steps: octaves * steps,
        signal: options.signal,
        onProgress: options.onProgress,
        imageEvery: options.imageEvery,
      },
      (i) => {
        if (i % steps === 0) {
          // New octave: resize the original, and add the detail dreamt so far, upscaled.
          const size = sizes[i / steps];
          const nextBase = resize(original, size);
          const nextCurrent =
            current === undefined || base === undefined
              ? nextBase.clone()
              : tf.add(nextBase, resize(tf.sub(current, base), size));
          swap(nextBase, 'base');
          swap(nextCurrent as tf.Tensor4D, 'current');
        }
        const x = current as tf.Tensor4D;
        const [dy, dx] = randomShift(jitter, rng);
        const shifted = roll(x, dy, dx);
        const { value, grad } = tf.valueAndGrad(
          (xi: tf.Tensor) =>
            tf.neg(tf.sum(evaluateObjective(model, xi as tf.Tensor4D, objective).values)) as tf.Scalar,
        )(shifted);
        // Descending -objective; normalising by the mean |gradient| makes stepSize a pixel amount.
        const g = tf.div(roll(grad as tf.Tensor4D, -dy, -dx), tf.add(tf.mean(tf.abs(grad)), 1e-8));
        swap(tf.clipByValue(tf.sub(x, tf.mul(g, stepSize)), 0, 1) as tf.Tensor4D, 'current');
        return {
          loss: value,
          image: () => {
            const last = i === octaves * steps - 1;
            const out =
              last && (current as tf.Tensor4D).shape[1] !== H
                ? resize(current as tf.Tensor4D, [H, W])
                : (current as tf.Tensor4D);
            return tf.squeeze(out, [0]) as tf.Tensor3D;
          },
        };
      },
    );
  } finally {
    original.dispose();
    base?.dispose();
    current?.dispose();
  }
}
