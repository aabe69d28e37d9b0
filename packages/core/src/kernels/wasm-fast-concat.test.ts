import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { concatInto } from './wasm-fast-concat.js';
import { setupBackends } from './test-backends.js';
import { kernelOn, seeded } from './test-util.js';

const cases: Array<{ shapes: number[][]; axis: number; dtype?: 'int32' | 'bool' }> = [
  // InceptionV3's mixed blocks: channels of four branches.
  {
    shapes: [
      [1, 5, 5, 64],
      [1, 5, 5, 64],
      [1, 5, 5, 96],
      [1, 5, 5, 32],
    ],
    axis: 3,
  },
  {
    shapes: [
      [1, 4, 6, 3],
      [1, 2, 6, 3],
    ],
    axis: 1,
  },
  {
    shapes: [
      [2, 3, 4],
      [2, 3, 1],
      [2, 3, 2],
    ],
    axis: -1,
  },
  { shapes: [[3], [0], [5]], axis: 0 },
  {
    shapes: [
      [2, 0, 3],
      [2, 4, 3],
    ],
    axis: 1,
  },
  {
    shapes: [
      [2, 5],
      [2, 1],
    ],
    axis: 1,
    dtype: 'int32',
  },
  {
    shapes: [
      [3, 2],
      [3, 3],
    ],
    axis: 1,
    dtype: 'bool',
  },
];

describe('wasm Concat fix', () => {
  beforeAll(setupBackends);

  it.each(cases)('matches cpu: $shapes on axis $axis $dtype', async ({ shapes, axis, dtype }) => {
    const rng = seeded(11);
    const inputs = shapes.map((shape) => ({
      shape,
      dtype,
      values: Array.from({ length: tf.util.sizeFromShape(shape) }, () =>
        dtype === undefined ? rng() * 200 - 100 : Math.round(rng() * (dtype === 'bool' ? 1 : 200)),
      ),
    }));
    const want = await kernelOn('cpu', tf.Concat, inputs, { axis });
    const got = await kernelOn('wasm', tf.Concat, inputs, { axis });
    expect(got).toEqual(want);
  });

  it('copies runs between views of one buffer and of different buffers alike', () => {
    // One buffer: the inputs and the output are views of it, as on the wasm heap (copyWithin path).
    const heap = new Float32Array(64);
    const a = new Float32Array(heap.buffer, 0, 6);
    const b = new Float32Array(heap.buffer, 6 * 4, 4);
    a.set([1, 2, 3, 4, 5, 6]);
    b.set([7, 8, 9, 10]);
    const out = new Float32Array(heap.buffer, 16 * 4, 10);
    concatInto([a, b], [3, 2], 2, out);
    expect(Array.from(out)).toEqual([1, 2, 3, 7, 8, 4, 5, 6, 9, 10]);
    // Separate buffers (set/subarray path).
    const out2 = new Float32Array(10);
    concatInto([Float32Array.from(a), Float32Array.from(b)], [3, 2], 2, out2);
    expect(Array.from(out2)).toEqual(Array.from(out));
  });
});
