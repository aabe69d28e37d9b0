import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, seeded } from './test-util.js';

const cases: Array<{ shape: number[]; begin: number[]; size: number[]; dtype?: 'int32' }> = [
  { shape: [10], begin: [3], size: [5] },
  { shape: [4, 6], begin: [1, 2], size: [2, -1] },
  { shape: [1, 9, 9, 4], begin: [0, 1, 1, 0], size: [1, 7, 7, 4] },
  { shape: [2, 5, 6, 3], begin: [1, 0, 2, 1], size: [1, 5, 3, 2] },
  { shape: [2, 3, 4, 5, 2], begin: [0, 1, 0, 2, 0], size: [2, 2, 4, 3, 2] },
  { shape: [3, 4, 5], begin: [0, 0, 0], size: [3, 4, 5] },
  { shape: [3, 4, 5], begin: [1, 1, 1], size: [0, 2, 2] },
  { shape: [5, 7], begin: [2, 3], size: [2, 3], dtype: 'int32' },
];

describe('wasm Slice fix', () => {
  beforeAll(setupBackends);

  it.each(cases)(
    'matches cpu: $shape begin $begin size $size $dtype',
    async ({ shape, begin, size, dtype }) => {
      const x = randomInput(shape, seeded(5), -100, 100);
      if (dtype === 'int32') x.values = Array.from(x.values, Math.round);
      const inputs = { x: { ...x, dtype } };
      const want = await kernelOn('cpu', tf.Slice, inputs, { begin, size });
      const got = await kernelOn('wasm', tf.Slice, inputs, { begin, size });
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.values)).toEqual(Array.from(want.values));
    },
  );
});
