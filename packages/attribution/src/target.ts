import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  objectiveForwardOptions,
  checkLayer,
  checkTarget,
  type ForwardResult,
  type Objective,
  type VisionModel,
} from '@cnnviz/core';

/** A class index for every image, one class index per image, or any core Objective. */
export type Target = number | number[] | Objective;

/** The target options every technique shares (Captum's `target` convention). */
export interface TargetOptions {
  /**
   * What to explain: a logit index (`3`), one index per image of a batch (`[3, 7]`), or an
   * objective from @cnnviz/core such as `neuron('block_13_expand_relu', 42)`.
   */
  target?: Target;
  /** The same as an objective `target` (DESIGN's `{ objective }` form). */
  objective?: Objective;
}

/** A target bound to a batch: the objective for any subset of its rows. */
export interface ResolvedTarget {
  /** The objective for a sub-batch whose row `i` is image `rows[i]` of the input. */
  forRows(rows: number[]): Objective;
  /** Tap names the objective needs. */
  taps: string[];
  name: string;
}

export function isObjective(t: unknown): t is Objective {
  return (
    typeof t === 'object' &&
    t !== null &&
    !Array.isArray(t) &&
    typeof (t as Objective).evaluate === 'function' &&
    Array.isArray((t as Objective).taps)
  );
}

const outputSizes = new WeakMap<VisionModel, Map<string, number>>();

/** Number of logits for inputs of `h x w`, from one forward pass cached per model and size. */
export function outputSize(model: VisionModel, h: number, w: number): number {
  let sizes = outputSizes.get(model);
  if (!sizes) outputSizes.set(model, (sizes = new Map()));
  const key = `${h}x${w}`;
  let size = sizes.get(key);
  if (size === undefined) {
    size = tf.tidy(() => {
      const x = model.preprocess(tf.zeros([1, h, w, model.inputShape[2]]) as tf.Tensor4D);
      return model.forward(x).logits.shape[1];
    });
    sizes.set(key, size);
  }
  return size;
}

/** Validates `options.target`/`options.objective` for a batch of `n` images of `h x w`. */
export function resolveTarget(
  model: VisionModel,
  options: TargetOptions,
  n: number,
  h: number,
  w: number,
): ResolvedTarget {
  const { target, objective } = options ?? {};
  check(
    !(target !== undefined && objective !== undefined),
    'BAD_OPTION',
    'pass either target or objective, not both',
  );
  const t = objective ?? target;
  check(
    t !== undefined && t !== null,
    'BAD_TARGET',
    'target is required: a class index, one index per image, or an objective from @cnnviz/core',
  );
  if (isObjective(t)) {
    const names = model.layers.map((l) => l.name);
    for (const tap of t.taps) checkLayer(tap, names);
    return { forRows: () => t, taps: [...t.taps], name: t.name };
  }
  check(
    typeof t === 'number' || Array.isArray(t),
    'BAD_TARGET',
    `target must be a class index, an array of ${n} class indices or an objective, got ${typeof t}`,
  );
  const classes = typeof t === 'number' ? new Array<number>(n).fill(t) : t;
  check(
    classes.length === n,
    'BAD_TARGET',
    `target has ${classes.length} class indices for a batch of ${n} images; expected one per image`,
  );
  const outputs = outputSize(model, h, w);
  classes.forEach((k, i) => checkTarget(k, outputs, n > 1 ? `target[${i}]` : 'target'));
  return {
    forRows: (rows) => rowLogits(rows.map((r) => classes[r])),
    taps: [],
    name: typeof t === 'number' ? `class:${t}` : `class:[${classes.join(',')}]`,
  };
}

/**
 * The logit of class `classes[i]` for row `i`. A one-hot mask and a sum keep the gradient on
 * kernels every backend has (a gather's gradient needs UnsortedSegmentSum, which WASM lacks).
 */
function rowLogits(classes: number[]): Objective {
  return {
    taps: [],
    name: `class:[${classes.join(',')}]`,
    needsLogits: true,
    evaluate(out: ForwardResult): tf.Tensor1D {
      const [rows, k] = out.logits.shape;
      const mask = new Float32Array(rows * k);
      for (let i = 0; i < rows; i++) mask[i * k + classes[i]] = 1;
      return tf.sum(tf.mul(out.logits, tf.tensor2d(mask, [rows, k])), 1);
    },
  };
}

/** Evaluates an objective on pixel images without gradients: one value per image. */
export function evaluateObjective(model: VisionModel, x: tf.Tensor4D, objective: Objective): tf.Tensor1D {
  return tf.tidy(() => {
    const out = model.forward(model.preprocess(x), objective.taps, objectiveForwardOptions(objective));
    // Safe: logits are left out only when the objective said it reads activations alone.
    const v = objective.evaluate(out as ForwardResult);
    check(
      v.rank === 1 && v.shape[0] === x.shape[0],
      'BAD_TARGET',
      `objective "${objective.name}" must give one value per image ([${x.shape[0]}]), got shape [${v.shape.join(',')}]`,
    );
    return v;
  });
}
