import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  CnnvizError,
  objectiveForwardOptions,
  type ForwardResult,
  type Objective,
  type VisionModel,
} from '@cnnviz/core';

export interface LayerGradient {
  /** The objective's value per image `[N]`. */
  values: tf.Tensor1D;
  /** The layer's activation `[N,h,w,K]`. */
  activation: tf.Tensor4D;
  /** d(objective) / d(activation) `[N,h,w,K]`. */
  grad: tf.Tensor4D;
}

/**
 * Gradient of the objective with respect to an intermediate activation (what Grad-CAM weighs).
 * The activation only exists once the forward pass has run, so the tensor list handed to
 * tfjs-core's `engine().gradients` is filled in by the forward function: the engine reads that
 * list after running it. Only the path from the activation to the objective is differentiated.
 */
export function layerGradient(
  model: VisionModel,
  x: tf.Tensor4D,
  layer: string,
  objective: Objective,
): LayerGradient {
  const n = x.shape[0];
  const kept: tf.Tensor[] = [];
  const xs: tf.Tensor[] = [x];
  try {
    const { value, grads } = tf.engine().gradients(
      () => {
        const taps = [...new Set([layer, ...objective.taps])];
        // The layer itself is read whole; the objective's taps only where it reads them.
        const out = model.forward(
          model.preprocess(x),
          taps,
          objectiveForwardOptions(objective, taps, [layer]),
        );
        const act = out.activations[layer];
        check(
          act !== undefined && act.rank === 4,
          'BAD_LAYER',
          () =>
            `layer "${layer}" must give a spatial activation [N,h,w,C], got ${act === undefined ? 'nothing' : `shape [${act.shape.join(',')}]`}`,
        );
        // Safe: logits are left out only when the objective said it reads activations alone.
        const v = objective.evaluate(out as ForwardResult);
        check(
          v.rank === 1 && v.shape[0] === n,
          'BAD_TARGET',
          `objective "${objective.name}" must give one value per image ([${n}]), got shape [${v.shape.join(',')}]`,
        );
        kept.push(tf.keep(act), tf.keep(v));
        xs[0] = act;
        return tf.sum(v) as tf.Scalar;
      },
      xs,
      undefined,
      true,
    );
    value.dispose();
    const grad = grads[0];
    if (grad === undefined) {
      throw new CnnvizError(
        'BAD_TARGET',
        `target "${objective.name}" does not depend on layer "${layer}" (no gradient reaches it); pick a layer below the target`,
      );
    }
    return { activation: kept[0] as tf.Tensor4D, values: kept[1] as tf.Tensor1D, grad: grad as tf.Tensor4D };
  } catch (e) {
    tf.dispose(kept);
    throw e;
  }
}
