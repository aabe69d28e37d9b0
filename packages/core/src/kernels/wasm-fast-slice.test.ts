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

const splits: Array<{ shape: number[]; sizes: number[] | number; axis: number; dtype?: 'int32' }> = [
  { shape: [1, 5, 5, 12], sizes: [3, 4, 5], axis: 3 },
  { shape: [1, 7, 9, 3], sizes: [2, -1], axis: 2 },
  { shape: [2, 6, 4, 3], sizes: 3, axis: 1 },
  { shape: [8], sizes: [0, 8], axis: 0 },
  { shape: [4, 6], sizes: [1, 5], axis: -1, dtype: 'int32' },
];

describe('wasm SplitV fix', () => {
  beforeAll(setupBackends);

  it.each(splits)(
    'matches cpu: $shape into $sizes on axis $axis $dtype',
    async ({ shape, sizes, axis, dtype }) => {
      const x = randomInput(shape, seeded(7), -100, 100);
      const values = dtype === 'int32' ? Array.from(x.values, Math.round) : Array.from(x.values);
      const run = async (backend: string) => {
        await tf.setBackend(backend);
        const t = tf.tensor(values, shape, dtype ?? 'float32');
        const before = tf.memory().numTensors;
        const buffers = tf.engine().backend.numDataIds();
        const parts = tf.engine().runKernel(tf.SplitV, { x: t }, {
          numOrSizeSplits: sizes,
          axis,
        } as unknown as tf.NamedAttrMap) as tf.Tensor[];
        const out = parts.map((p) => ({ shape: p.shape, values: Array.from(p.dataSync()) }));
        tf.dispose(parts);
        expect(tf.memory().numTensors).toBe(before);
        expect(tf.engine().backend.numDataIds()).toBe(buffers);
        t.dispose();
        return out;
      };
      const want = await run('cpu');
      const got = await run('wasm');
      expect(got).toEqual(want);
    },
  );
});
