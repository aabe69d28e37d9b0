import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adamOptimizer } from './adam.js';
import { unregisterKernelFixes } from './kernels/index.js';
import { setupBackends } from './kernels/test-backends.js';
import { ADAM_KERNEL } from './kernels/wasm-simd-adam.js';

/** A loss with gradients of many magnitudes and signs over two variables (407 and 5 values: SIMD body and tail). */
function problem() {
  const x = tf.variable(tf.randomNormal([37, 11], 0, 1, 'float32', 1));
  const y = tf.variable(tf.randomNormal([5], 0, 0.01, 'float32', 2));
  const w = tf.randomUniform([37, 11], 0.01, 3, 'float32', 3);
  const loss = () =>
    tf.tidy(
      () =>
        tf.add(tf.sum(tf.add(tf.mul(w, tf.square(x)), tf.sin(tf.mul(x, 3)))), tf.sum(tf.exp(y))) as tf.Scalar,
    );
  return { vars: [x, y], loss, dispose: () => tf.dispose([x, y, w]) };
}

describe('adamOptimizer', () => {
  beforeAll(setupBackends);
  afterAll(() => unregisterKernelFixes('wasm'));

  it.each(['wasm', 'cpu'])(
    'gives tf.train.adam’s float32 values step for step on %s, without leaks',
    async (b) => {
      await tf.setBackend(b);
      const ours = problem();
      const ref = problem();
      const before = tf.memory().numTensors;
      const a = adamOptimizer(0.05);
      const t = tf.train.adam(0.05);
      const start = Array.from(ours.vars[0].dataSync());
      const kernels = (
        await tf.profile(() => {
          for (let step = 0; step < 40; step++) {
            // Inside tf.tidy, as optimisation loops call it.
            const la = tf.tidy(() => a.minimize(ours.loss, ours.vars));
            const lb = t.minimize(ref.loss, true, ref.vars) as tf.Scalar;
            expect(la.dataSync()[0]).toBe(lb.dataSync()[0]);
            tf.dispose([la, lb]);
            for (let k = 0; k < 2; k++)
              expect(Array.from(ours.vars[k].dataSync())).toEqual(Array.from(ref.vars[k].dataSync()));
          }
        })
      ).kernels.map((k) => k.name);
      // The fused kernel on wasm (with cnnviz's kernel fixes), tf.train.adam's kernels elsewhere.
      expect(kernels.includes(ADAM_KERNEL)).toBe(b === 'wasm');
      const moved = Math.max(...Array.from(ours.vars[0].dataSync()).map((v, i) => Math.abs(v - start[i])));
      expect(moved).toBeGreaterThan(0.5);
      a.dispose();
      t.dispose();
      expect(tf.memory().numTensors).toBe(before);
      ours.dispose();
      ref.dispose();
    },
  );
});
