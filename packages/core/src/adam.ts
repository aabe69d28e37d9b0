import * as tf from '@tensorflow/tfjs-core';
import { ADAM_KERNEL, type AdamAttrs } from './kernels/wasm-simd-adam.js';

/** Adam over some variables, one step per call: the part of `tf.train.Optimizer` that optimisation loops use. */
export interface AdamOptimizer {
  /** One step: the loss's gradient, the moments, the variables moved. Returns the loss (before the step). */
  minimize(loss: () => tf.Scalar, variables: tf.Variable[]): tf.Scalar;
  dispose(): void;
}

/**
 * Adam (Kingma & Ba 2015) with `tf.train.adam`'s float32 arithmetic, as one `CnnvizAdam` kernel per variable where
 * the backend has it (wasm with cnnviz's kernel fixes: one SIMD pass instead of fourteen elementwise kernels), else
 * `tf.train.adam` itself. Both give the same float32 values.
 */
export function adamOptimizer(learningRate: number, beta1 = 0.9, beta2 = 0.999): AdamOptimizer {
  if (tf.getKernel(ADAM_KERNEL, tf.getBackend()) === undefined) {
    const opt = tf.train.adam(learningRate, beta1, beta2);
    return {
      minimize: (loss, variables) => opt.minimize(loss, true, variables) as tf.Scalar,
      dispose: () => opt.dispose(),
    };
  }
  const f = Math.fround;
  // tf.train.adam's accumulators beta^t, kept as float32 values.
  let acc1 = f(beta1);
  let acc2 = f(beta2);
  const moments = new Map<string, { m: tf.Tensor; v: tf.Tensor }>();
  return {
    minimize(loss, variables) {
      const { value, grads } = tf.variableGrads(loss, variables);
      try {
        const attrs: AdamAttrs = {
          beta1,
          beta2,
          oneMinusAccBeta1: f(1 - acc1),
          oneMinusAccBeta2: f(1 - acc2),
          epsilon: tf.backend().epsilon(),
          learningRate,
        };
        for (const variable of variables) {
          const g = grads[variable.name];
          if (g === undefined) continue;
          // Kept: a caller may step inside tf.tidy, and the moments must outlive it (tf.train.adam uses variables).
          const s = moments.get(variable.name) ?? {
            m: tf.keep(tf.zerosLike(variable)),
            v: tf.keep(tf.zerosLike(variable)),
          };
          const [p, m, v] = tf
            .engine()
            .runKernel(
              ADAM_KERNEL,
              { p: variable, g, m: s.m, v: s.v },
              attrs as unknown as tf.NamedAttrMap,
            ) as tf.Tensor[];
          variable.assign(p);
          tf.dispose([p, s.m, s.v]);
          moments.set(variable.name, { m: tf.keep(m), v: tf.keep(v) });
        }
        acc1 = f(acc1 * f(beta1));
        acc2 = f(acc2 * f(beta2));
      } finally {
        tf.dispose(Object.values(grads));
      }
      return value;
    },
    dispose() {
      for (const { m, v } of moments.values()) tf.dispose([m, v]);
      moments.clear();
    },
  };
}
