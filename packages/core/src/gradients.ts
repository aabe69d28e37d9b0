import * as tf from '@tensorflow/tfjs-core';
import './register-gradients.js';
import { CnnvizError } from './errors.js';
import { objectiveForwardOptions, type Objective } from './objectives.js';
import type { ForwardResult, VisionModel } from './types.js';
import { check, checkImage } from './validate.js';

interface TapeState {
  gradientDepth: number;
  activeTape: { saved?: tf.Tensor[] }[] | null;
}

/**
 * tf.grad leaks when f or a gradient kernel throws: the tensors the tape saved for backprop are
 * kept outside every tidy and only freed after a successful backward pass. Runs `fn` (which
 * calls tf.grad-style functions) in a tidy and, on error, frees what an abandoned outermost
 * tape still holds.
 */
function withTapeCleanup<T extends tf.TensorContainer>(fn: () => T): T {
  try {
    return tf.tidy(fn);
  } catch (e) {
    const state = tf.engine().state as unknown as TapeState;
    if (state.gradientDepth === 0 && state.activeTape != null) {
      for (const node of state.activeTape) node.saved?.forEach((t) => t.dispose());
      state.activeTape = null;
    }
    throw e;
  }
}

/**
 * Value and gradient of a scalar function at `x`. Only the gradient with respect to `x` is
 * computed (never weight gradients), and every intermediate tensor is freed; the caller owns
 * `value` and `grad`.
 */
export function valueAndGradient<T extends tf.Tensor>(
  f: (x: T) => tf.Scalar,
  x: T,
): { value: tf.Scalar; grad: T } {
  check(typeof f === 'function', 'BAD_OPTION', 'f must be a function (x) => tf.Scalar');
  check(
    typeof x === 'object' && x !== null && 'shape' in x && (x as tf.Tensor).isDisposed !== true,
    'BAD_INPUT',
    'x must be a live tf.Tensor',
  );
  return withTapeCleanup(() => {
    const { value, grad } = tf.valueAndGrad(f)(x);
    return { value, grad: grad as T };
  });
}

export interface ObjectiveGradient {
  /** The objective's value for each batch item, `[N]`. */
  values: tf.Tensor1D;
  /** d(sum of values) / d(pixels), `[N,H,W,C]`; item `n` is the gradient of `values[n]` alone. */
  grad: tf.Tensor4D;
}

/**
 * Gradient of an objective with respect to the PIXEL input `[N,H,W,C]` (0..1), with
 * `model.preprocess` inside the differentiated function so the gradient lives in pixel space.
 * Batch items do not interact in a vision model, so the gradient of the summed objective gives
 * every item its own gradient in one backward pass.
 */
export function objectiveGradient(
  model: VisionModel,
  pixels: tf.Tensor4D,
  objective: Objective,
): ObjectiveGradient {
  checkImage(pixels, { name: 'pixels' });
  check(
    pixels.rank === 4,
    'BAD_IMAGE',
    `pixels must be a batch [N,H,W,C], got shape [${pixels.shape.join(',')}]`,
  );
  check(
    objective !== null && typeof objective === 'object' && typeof objective.evaluate === 'function',
    'BAD_OPTION',
    'objective must be an Objective (see channel(), neuron(), layerL2(), classLogit())',
  );
  const n = pixels.shape[0];
  let values: tf.Tensor1D | undefined;
  try {
    return withTapeCleanup(() => {
      const x = pixels.dtype === 'float32' ? pixels : tf.cast(pixels, 'float32');
      const { value, grad } = tf.valueAndGrad((input: tf.Tensor4D) => {
        const out = model.forward(
          model.preprocess(input),
          objective.taps,
          objectiveForwardOptions(objective),
        );
        // Safe: logits are left out only when asked for with needsLogits false, i.e. when the
        // objective said evaluate reads activations alone; with logits wanted every model returns them.
        const v = objective.evaluate(out as ForwardResult);
        if (v.rank !== 1 || v.shape[0] !== n) {
          throw new CnnvizError(
            'BAD_OPTION',
            `objective "${objective.name}" must return one value per batch item (shape [${n}]), got shape [${v.shape.join(',')}]`,
          );
        }
        // Kept so it survives the engine's tidy around the forward pass.
        values = tf.keep(v);
        return tf.sum(v);
      })(x);
      value.dispose();
      return { values: values as unknown as tf.Tensor1D, grad: grad as tf.Tensor4D };
    });
  } catch (e) {
    values?.dispose();
    throw e;
  }
}
