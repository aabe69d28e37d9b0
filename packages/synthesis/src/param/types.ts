import type * as tf from '@tensorflow/tfjs-core';

/**
 * How an optimised image is represented (Lucid's `param`): the optimiser updates `variables`, and
 * `image()` maps them, differentiably, to a pixel batch `[N,H,W,C]` in 0..1. The choice of
 * parameterisation is itself a prior: the same objective gives different pictures.
 */
export interface ImageParam {
  /** The trainable tensors (what the optimiser updates). */
  readonly variables: tf.Variable[];
  /** The current pixel batch, 0..1, differentiable with respect to `variables`. Caller disposes. */
  image(): tf.Tensor4D;
  /**
   * The pixel batch for other values of the (single) variable: `image()` is `render(variables[0])`.
   * Lets optimisers that keep their own iterate (L-BFGS) use the parameterisation.
   */
  render(value: tf.Tensor): tf.Tensor4D;
  /** Frees the variables and any constants. */
  dispose(): void;
}

export type ParamKind = 'pixel' | 'fourier';
