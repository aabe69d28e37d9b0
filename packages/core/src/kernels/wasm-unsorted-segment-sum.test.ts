import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, relErr, seeded } from './test-util.js';

describe('wasm UnsortedSegmentSum fix', () => {
  beforeAll(setupBackends);

  it.each([
    { xShape: [6, 3], ids: [0, 2, 0, 1, 4, 2], n: 5 },
    { xShape: [4], ids: [3, 3, 0, 1], n: 4 },
    { xShape: [5, 2], ids: [0, -1, 7, 1, 1], n: 2 },
  ])('matches cpu: x $xShape ids $ids numSegments $n', async ({ xShape, ids, n }) => {
    const inputs = {
      x: randomInput(xShape, seeded(3)),
      segmentIds: { values: ids, shape: [ids.length], dtype: 'int32' as const },
    };
    const want = await kernelOn('cpu', tf.UnsortedSegmentSum, inputs, { numSegments: n });
    const got = await kernelOn('wasm', tf.UnsortedSegmentSum, inputs, { numSegments: n });
    expect(got.shape).toEqual(want.shape);
    expect(relErr(got.values, want.values)).toBeLessThan(1e-6);
  });

  it('handles multi-dimensional segment ids (cpu cannot: hand-computed)', async () => {
    const x = { values: Array.from({ length: 24 }, (_, i) => i), shape: [2, 3, 4] };
    const segmentIds = { values: [1, 0, 1, 1, 0, 2], shape: [2, 3], dtype: 'int32' as const };
    const got = await kernelOn('wasm', tf.UnsortedSegmentSum, { x, segmentIds }, { numSegments: 3 });
    expect(got.shape).toEqual([3, 4]);
    expect(Array.from(got.values)).toEqual([20, 22, 24, 26, 20, 23, 26, 29, 20, 21, 22, 23]);
  });

  it('makes the gradient of a gather-based objective work on wasm', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor2d([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const before = tf.memory().numTensors;
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(tf.mul(tf.gather(t, [2, 0, 2], 1), tf.tensor1d([1, 10, 100]))),
    )(x);
    expect(Array.from(g.dataSync())).toEqual([10, 0, 101, 10, 0, 101]);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
