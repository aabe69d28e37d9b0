import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, seeded } from './test-util.js';

describe('wasm DepthToSpace fix', () => {
  beforeAll(setupBackends);

  it.each([
    { shape: [1, 3, 4, 4], s: 2 },
    { shape: [2, 5, 3, 12], s: 2 },
    { shape: [1, 2, 3, 18], s: 3 },
    { shape: [1, 3, 2, 256], s: 2 },
  ])('matches cpu: $shape block $s', async ({ shape, s }) => {
    const inputs = { x: randomInput(shape, seeded(9)) };
    const attrs = { blockSize: s, dataFormat: 'NHWC' };
    const want = await kernelOn('cpu', tf.DepthToSpace, inputs, attrs);
    const got = await kernelOn('wasm', tf.DepthToSpace, inputs, attrs);
    expect(got.shape).toEqual(want.shape);
    expect(Array.from(got.values)).toEqual(Array.from(want.values));
  });
});
