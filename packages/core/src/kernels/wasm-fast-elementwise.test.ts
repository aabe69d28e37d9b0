import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackends } from './test-backends.js';
import { kernelOn, type KernelInput } from './test-util.js';

const KERNELS = [tf.Less, tf.LessEqual, tf.Greater, tf.GreaterEqual, tf.Equal, tf.NotEqual];

// Values with ties, NaN and both signs, so every comparison has true, false and NaN cases.
const A = [-2, -1, 0, 0.5, 1, 2, NaN, 3, -0, 6, 6.5, 1];
const B = [-2, 0, 0, 1, 1, -3, 1, NaN, 0, 6, 6, 2];

const pairs: Array<{ name: string; a: KernelInput; b: KernelInput }> = [
  { name: 'same shape', a: { values: A, shape: [3, 4] }, b: { values: B, shape: [3, 4] } },
  { name: 'b scalar', a: { values: A, shape: [3, 4] }, b: { values: [1], shape: [] } },
  { name: 'b [1]', a: { values: A, shape: [12] }, b: { values: [6], shape: [1] } },
  { name: 'a scalar', a: { values: [0], shape: [] }, b: { values: B, shape: [2, 6] } },
  {
    name: 'broadcast row (stock path)',
    a: { values: A, shape: [3, 4] },
    b: { values: [0, 1, NaN, 2], shape: [4] },
  },
  {
    name: 'int32',
    a: { values: [1, 2, 3, -4], shape: [4], dtype: 'int32' },
    b: { values: [2], shape: [], dtype: 'int32' },
  },
];

describe('wasm comparison fixes', () => {
  beforeAll(setupBackends);

  for (const k of KERNELS) {
    it.each(pairs)(`${k} matches cpu: $name`, async ({ a, b }) => {
      const want = await kernelOn('cpu', k, { a, b }, {});
      const got = await kernelOn('wasm', k, { a, b }, {});
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.values)).toEqual(Array.from(want.values));
    });
  }
});
