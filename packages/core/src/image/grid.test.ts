import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { tileGrid } from './grid.js';
import { expectClose, noLeak } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('tileGrid', () => {
  it('lays out 3 tiles in 2 columns with borders; the empty cell holds padValue', async () => {
    const imgs = [0.1, 0.2, 0.3].map((v) => tf.fill([1, 1, 1], v) as tf.Tensor3D);
    const p = 9;
    const expected = [
      [p, p, p, p, p],
      [p, 0.1, p, 0.2, p],
      [p, p, p, p, p],
      [p, 0.3, p, p, p],
      [p, p, p, p, p],
    ].flat();
    await noLeak(
      () => tileGrid(imgs, { cols: 2, pad: 1, padValue: p }),
      async (o) => {
        expect(o.shape).toEqual([5, 5, 1]);
        expectClose(await o.data(), expected);
      },
    );
    const batch = tf.stack(imgs) as tf.Tensor4D;
    await noLeak(
      () => tileGrid(batch, { cols: 2, pad: 1, padValue: p }),
      async (o) => expectClose(await o.data(), expected),
    );
    tf.dispose([...imgs, batch]);
  });

  it('defaults to a near-square grid and supports pad 0', async () => {
    const batch = tf.tensor4d([1, 2, 3, 4, 5], [5, 1, 1, 1]);
    await noLeak(
      () => tileGrid(batch, { pad: 0, padValue: 0 }),
      async (o) => {
        expect(o.shape).toEqual([2, 3, 1]);
        expectClose(await o.data(), [1, 2, 3, 4, 5, 0]);
      },
    );
    await noLeak(
      () => tileGrid(batch),
      async (o) => expect(o.shape).toEqual([2 * 1 + 3 * 2, 3 * 1 + 4 * 2, 1]),
    );
    batch.dispose();
  });

  it('rejects mixed shapes and empty input', () => {
    const a = tf.zeros([2, 2, 3]) as tf.Tensor3D;
    const b = tf.zeros([2, 3, 3]) as tf.Tensor3D;
    expect(() => tileGrid([a, b])).toThrow(expect.objectContaining({ code: 'BAD_IMAGE' }));
    expect(() => tileGrid([])).toThrow(expect.objectContaining({ code: 'BAD_IMAGE' }));
    expect(() => tileGrid([a], { cols: 0 })).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    tf.dispose([a, b]);
  });
});
