import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roll } from '../image/jitter.js';
import { registerKernelFixes, unregisterKernelFixes } from './index.js';
import { ROLL_KERNEL, rollInto } from './roll.js';
import { setupBackends } from './test-backends.js';
import { randomArray, seeded } from './test-util.js';

/** numpy.roll by index arithmetic: out[(i + s) mod n] = x[i] on every axis. */
function naiveRoll(x: Float32Array, shape: number[], shifts: number[]): Float32Array {
  const out = new Float32Array(x.length);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let flat = 0; flat < x.length; flat++) {
    let dst = 0;
    for (let a = 0; a < shape.length; a++) {
      const i = Math.floor(flat / strides[a]) % shape[a];
      dst += ((((i + shifts[a]) % shape[a]) + shape[a]) % shape[a]) * strides[a];
    }
    out[dst] = x[flat];
  }
  return out;
}

describe('CnnvizRoll', () => {
  beforeAll(async () => {
    await setupBackends();
    registerKernelFixes('cpu');
  });
  afterAll(() => unregisterKernelFixes('cpu'));

  it.each([
    { shape: [7], shifts: [3] },
    { shape: [4, 5], shifts: [1, -2] },
    { shape: [4, 5], shifts: [0, 7] },
    { shape: [2, 6, 5, 3], shifts: [0, 2, -1, 0] },
    { shape: [1, 9, 8, 3], shifts: [0, -12, 0, 0] },
    { shape: [3, 4, 2], shifts: [0, 0, 0] },
  ])('rollInto matches numpy.roll: $shape by $shifts', ({ shape, shifts }) => {
    const x = randomArray(
      shape.reduce((a, b) => a * b, 1),
      seeded(2),
    );
    const out = new Float32Array(x.length);
    rollInto(x, shape, shifts, out);
    expect(Array.from(out)).toEqual(Array.from(naiveRoll(x, shape, shifts)));
  });

  it.each(['wasm', 'cpu'])(
    'roll() on %s runs the kernel, equals numpy.roll, and rolls its gradient back',
    async (b) => {
      await tf.setBackend(b);
      expect(tf.getKernel(ROLL_KERNEL, b)).toBeDefined();
      const shape = [2, 6, 5, 3];
      const values = randomArray(180, seeded(3));
      const x = tf.tensor4d(values, shape as [number, number, number, number]);
      const w = tf.tensor4d(randomArray(180, seeded(4)), shape as [number, number, number, number]);
      const before = tf.memory().numTensors;
      const kernels = (await tf.profile(() => tf.dispose(roll(x, 2, -1)))).kernels.map((k) => k.name);
      // One copy (the custom gradient's scope shows as an unnamed entry), no split or concat.
      expect(kernels.filter((k) => k !== '')).toEqual([ROLL_KERNEL]);
      const y = roll(x, 2, -1);
      expect(Array.from(y.dataSync())).toEqual(Array.from(naiveRoll(values, shape, [0, 2, -1, 0])));
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(roll(t as tf.Tensor4D, 2, -1), w)))(x);
      const wv = w.dataSync() as Float32Array;
      expect(Array.from(g.dataSync())).toEqual(Array.from(naiveRoll(wv, shape, [0, -2, 1, 0])));
      tf.dispose([y, g]);
      expect(tf.memory().numTensors).toBe(before);
      // A [H,W,C] image rolls its first two axes.
      const img = tf.tensor3d([1, 2, 3, 4, 5, 6], [2, 3, 1]);
      const r = roll(img, 1, 1);
      expect(Array.from(r.dataSync())).toEqual([6, 4, 5, 3, 1, 2]);
      tf.dispose([x, w, img, r]);
    },
  );
});
