import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, seeded } from './test-util.js';

describe('wasm Tile fix', () => {
  beforeAll(setupBackends);

  it.each([
    { shape: [3], reps: [4] },
    { shape: [2, 3], reps: [2, 2] },
    { shape: [1, 1, 1, 5], reps: [2, 3, 4, 1] },
    { shape: [2, 1, 3, 2], reps: [1, 3, 2, 2] },
    { shape: [2, 2, 2], reps: [1, 1, 1] },
    { shape: [3, 2], reps: [0, 2] },
    { shape: [2, 3, 1, 2, 2], reps: [2, 1, 3, 1, 2] },
  ])('matches cpu: $shape reps $reps', async ({ shape, reps }) => {
    const inputs = { x: randomInput(shape, seeded(4)) };
    const want = await kernelOn('cpu', tf.Tile, inputs, { reps });
    const got = await kernelOn('wasm', tf.Tile, inputs, { reps });
    expect(got.shape).toEqual(want.shape);
    expect(Array.from(got.values)).toEqual(Array.from(want.values));
  });

  it('tiles int32 and bool', async () => {
    for (const dtype of ['int32', 'bool'] as const) {
      const inputs = { x: { values: [1, 0, 1, 1], shape: [2, 2], dtype: dtype as 'int32' } };
      const want = await kernelOn('cpu', tf.Tile, inputs, { reps: [2, 3] });
      const got = await kernelOn('wasm', tf.Tile, inputs, { reps: [2, 3] });
      expect(Array.from(got.values)).toEqual(Array.from(want.values));
    }
  });
});
