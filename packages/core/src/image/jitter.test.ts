import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { jitter, randomShift, roll } from './jitter.js';
import { normalize01 } from './normalize.js';
import { expectClose, noLeak } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('roll / jitter', () => {
  it('rolls like numpy.roll (down 1, right 1; negative and wrapped shifts)', async () => {
    const img = tf.tensor3d([1, 2, 3, 4, 5, 6], [2, 3, 1]);
    await noLeak(
      () => roll(img, 1, 1),
      async (o) => expectClose(await o.data(), [6, 4, 5, 3, 1, 2]),
    );
    await noLeak(
      () => roll(img, 0, -1),
      async (o) => expectClose(await o.data(), [2, 3, 1, 5, 6, 4]),
    );
    await noLeak(
      () => roll(img, 4, 5),
      async (o) => expectClose(await o.data(), [2, 3, 1, 5, 6, 4]),
    );
    await noLeak(
      () => roll(img, 0, 0),
      async (o) => expectClose(await o.data(), [1, 2, 3, 4, 5, 6]),
    );
    img.dispose();
  });

  it('jitter equals roll by the shift drawn from the same seed, and is deterministic', async () => {
    const img = tf.tensor4d(
      Array.from({ length: 2 * 5 * 5 * 3 }, (_, i) => i),
      [2, 5, 5, 3],
    );
    const [dy, dx] = randomShift(2, createRng(7));
    const a = await noLeak(
      () => jitter(img, 2, createRng(7)),
      async (o) => {
        const ref = roll(img, dy, dx);
        expectClose(await o.data(), await ref.data());
        ref.dispose();
      },
    );
    expect(a.shape).toEqual([2, 5, 5, 3]);
    img.dispose();
  });

  it('draws every shift in [-m, m] and nothing outside', () => {
    const rng = createRng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      for (const s of randomShift(3, rng)) {
        expect(Math.abs(s)).toBeLessThanOrEqual(3);
        seen.add(s);
      }
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(randomShift(0, rng).map(Math.abs)).toEqual([0, 0]);
  });

  it('is differentiable: gradient of a weighted sum is the weights rolled back', async () => {
    const x = tf.zeros([3, 4, 1]);
    const w = tf.tensor3d(
      Array.from({ length: 12 }, (_, i) => i),
      [3, 4, 1],
    );
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(roll(t as tf.Tensor3D, 1, 2), w)))(x);
    const back = roll(w, -1, -2);
    expectClose(await g.data(), await back.data());
    tf.dispose([x, w, g, back]);
  });

  it('rejects bad options', () => {
    const img = tf.zeros([2, 2, 1]) as tf.Tensor3D;
    expect(() => jitter(img, -1, createRng(0))).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    expect(() => jitter(img, 1.5, createRng(0))).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    expect(() => jitter(img, 1, 3 as unknown as () => number)).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION' }),
    );
    expect(() => roll(img, 0.5, 0)).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    img.dispose();
  });
});

describe('normalize01', () => {
  it('min-max scales to 0..1 and maps a constant tensor to zeros', async () => {
    const t = tf.tensor2d([2, 4, 6, 3], [2, 2]);
    await noLeak(
      () => normalize01(t),
      async (o) => expectClose(await o.data(), [0, 0.5, 1, 0.25]),
    );
    const c = tf.fill([3], 5);
    await noLeak(
      () => normalize01(c),
      async (o) => expectClose(await o.data(), [0, 0, 0]),
    );
    tf.dispose([t, c]);
    expect(() => normalize01(t)).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });
});
