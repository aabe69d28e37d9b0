import * as tf from '@tensorflow/tfjs-core';
import { optimizationLoop, run, type StepResult } from '../optimize.js';

// Test support (not exported from the package): a step function with a closed form for optimizationLoop's tests.

/**
 * Gradient descent on (v - 3)^2 with step 0.25: v_k = 3 - 3 * 0.5^k from v_0 = 0, loss_k = 9 * 0.25^k (read before
 * the update); `calls` records the step indices it ran; the image is v tiled to 2x2x1.
 */
export function descent(v: tf.Variable, calls: number[]): (i: number) => StepResult {
  return (i) => {
    calls.push(i);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => tf.sum(tf.square(tf.sub(x, 3))) as tf.Scalar)(
      v,
    );
    v.assign(tf.sub(v, tf.mul(grad, 0.25)) as tf.Tensor);
    return { loss: value, image: () => tf.reshape(tf.tile(v, [4]), [2, 2, 1]) as tf.Tensor3D };
  };
}

/**
 * Runs `descent` for up to 100 steps and aborts from the progress callback of step 2; returns what the loop threw
 * (undefined if it finished), for the abort tests of the strict and the pipelined loop.
 */
export async function abortDescentAtStep2(v: tf.Variable, calls: number[]): Promise<unknown> {
  const ac = new AbortController();
  try {
    await run(
      optimizationLoop(
        { steps: 100, signal: ac.signal, onProgress: (s) => (s.step === 2 ? ac.abort() : undefined) },
        descent(v, calls),
      ),
    );
  } catch (e) {
    return e;
  }
  return undefined;
}
