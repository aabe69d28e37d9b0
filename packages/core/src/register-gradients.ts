/**
 * tfjs-core's Node entry registers no gradients; tfjs-layers imports
 * `@tensorflow/tfjs-core/dist/register_all_gradients` in its ESM build and bundles the same
 * registrations in its CJS build, so importing it once makes `tf.grad` work in every runtime.
 * The gradient registry is a process-wide global, so one copy of tfjs-layers serves every copy
 * of tfjs-core.
 */
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { avgPoolGradient } from './gradient-fixes/avg-pool.js';

// Comparisons are piecewise constant: their gradient is zero almost everywhere, but tfjs registers none, so
// `tf.grad` through tfjs-layers' ThresholdedReLU (x · cast(x > θ)) or a graph's Greater throws "gradient function
// not found". Zeros keep the gradient flowing through the other operand of the product.
for (const kernelName of ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual']) {
  if (tf.getGradient(kernelName) === undefined) {
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, saved) => ({ a: () => tf.zerosLike(saved[0]), b: () => tf.zerosLike(saved[1]) }),
    });
  }
}

// Replaces stock gradients that are wrong (see each file); process-wide like the rest.
tf.registerGradient(avgPoolGradient);
