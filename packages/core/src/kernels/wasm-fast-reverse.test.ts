import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, seeded } from './test-util.js';

describe('wasm Reverse fix', () => {
  beforeAll(setupBackends);

  it.each([
    { shape: [7], dims: [0] },
    { shape: [4, 9], dims: [1] },
    { shape: [4, 9], dims: [-1] },
    { shape: [4, 9], dims: [0] },
    { shape: [4, 9], dims: [0, 1] },
    { shape: [2, 3, 4, 5], dims: [1] },
    { shape: [2, 3, 4, 5], dims: [0, 2] },
    { shape: [2, 3, 4, 5], dims: [3, 1] },
    { shape: [2, 3, 4, 5], dims: [] },
    { shape: [3, 0, 2], dims: [2] },
  ])('matches cpu: $shape dims $dims', async ({ shape, dims }) => {
    const inputs = { x: randomInput(shape, seeded(5)) };
    const want = await kernelOn('cpu', tf.Reverse, inputs, { dims });
    const got = await kernelOn('wasm', tf.Reverse, inputs, { dims });
    expect(got.shape).toEqual(want.shape);
    expect(Array.from(got.values)).toEqual(Array.from(want.values));
  });

  it('reverses int32', async () => {
    const inputs = { x: { values: [1, 2, 3, 4, 5, 6], shape: [2, 3], dtype: 'int32' as const } };
    const got = await kernelOn('wasm', tf.Reverse, inputs, { dims: [1] });
    expect(Array.from(got.values)).toEqual([3, 2, 1, 6, 5, 4]);
  });
});
