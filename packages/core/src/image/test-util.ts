import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

/** Runs `fn`, disposes what it returns, and asserts no tensor outlived the call. */
export async function noLeak<R>(fn: () => R | Promise<R>, keep?: (r: R) => Promise<void> | void): Promise<R> {
  const before = tf.memory().numTensors;
  const r = await fn();
  if (keep) await keep(r);
  if (r instanceof tf.Tensor) r.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return r;
}

/** Asserts two flat number lists agree to `tol`. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > tol) {
      throw new Error(`index ${i}: got ${actual[i]}, expected ${expected[i]} (tol ${tol})`);
    }
  }
}
