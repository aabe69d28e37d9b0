import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, seeded } from './test-util.js';

const cases: Array<{ shape: number[]; paddings: Array<[number, number]>; value: number; dtype?: 'int32' }> = [
  { shape: [7], paddings: [[2, 3]], value: 0 },
  {
    shape: [1, 5, 4, 3],
    paddings: [
      [0, 0],
      [1, 2],
      [3, 0],
      [0, 0],
    ],
    value: 0.5,
  },
  {
    shape: [2, 3, 1, 4, 1, 5],
    paddings: [
      [0, 0],
      [0, 0],
      [0, 1],
      [0, 0],
      [0, 1],
      [0, 0],
    ],
    value: 0,
  },
  {
    shape: [2, 3, 4],
    paddings: [
      [1, 0],
      [0, 0],
      [0, 0],
    ],
    value: -2,
  },
  {
    shape: [2, 3, 4],
    paddings: [
      [0, 0],
      [0, 0],
      [2, 1],
    ],
    value: 7,
  },
  {
    shape: [3, 0, 2],
    paddings: [
      [1, 1],
      [1, 0],
      [0, 1],
    ],
    value: 1,
  },
  {
    shape: [4, 5],
    paddings: [
      [1, 2],
      [0, 3],
    ],
    value: 9,
    dtype: 'int32',
  },
];

describe('wasm PadV2 fix', () => {
  beforeAll(setupBackends);

  it.each(cases)(
    'matches cpu: $shape $paddings value $value $dtype',
    async ({ shape, paddings, value, dtype }) => {
      const x = randomInput(shape, seeded(9), -100, 100);
      if (dtype === 'int32') x.values = Array.from(x.values, Math.round);
      const inputs = { x: { ...x, dtype } };
      const attrs = { paddings, constantValue: value };
      const want = await kernelOn('cpu', tf.PadV2, inputs, attrs);
      const got = await kernelOn('wasm', tf.PadV2, inputs, attrs);
      expect(got.shape).toEqual(want.shape);
      expect(Array.from(got.values)).toEqual(Array.from(want.values));
    },
  );
});
