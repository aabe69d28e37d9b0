import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { gaussianBlur, gaussianKernel1d } from './blur.js';
import { expectClose, noLeak } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function gauss(sigma: number, radius: number): number[] {
  const k = Array.from({ length: 2 * radius + 1 }, (_, i) =>
    Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)),
  );
  const s = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / s);
}

describe('gaussianBlur', () => {
  it('kernel is the normalised Gaussian with radius ceil(3 sigma)', () => {
    expectClose(gaussianKernel1d(1), gauss(1, 3), 1e-7);
    expectClose(gaussianKernel1d(0.5), gauss(0.5, 2), 1e-7);
  });

  it('blurs an impulse into the outer product of the kernel, per channel', async () => {
    const size = 9;
    const c = 4; // centre
    const data = new Float32Array(size * size * 2);
    data[(c * size + c) * 2 + 1] = 2; // impulse of height 2 in channel 1, channel 0 empty
    const img = tf.tensor3d(data, [size, size, 2]);
    const k = gauss(1, 3);
    const expected = new Float32Array(size * size * 2);
    for (let i = -3; i <= 3; i++) {
      for (let j = -3; j <= 3; j++) expected[((c + i) * size + (c + j)) * 2 + 1] = 2 * k[i + 3] * k[j + 3];
    }
    await noLeak(
      () => gaussianBlur(img, 1),
      async (out) => {
        expect(out.shape).toEqual([size, size, 2]);
        expectClose(await out.data(), expected, 1e-6);
      },
    );
    img.dispose();
  });

  it('keeps a constant image constant at the borders (reflect), also when the kernel exceeds the image', async () => {
    const img = tf.fill([5, 6, 3], 0.7) as tf.Tensor3D;
    for (const sigma of [1, 3]) {
      await noLeak(
        () => gaussianBlur(img, sigma),
        async (out) => expectClose(await out.data(), new Array(90).fill(0.7), 1e-6),
      );
    }
    img.dispose();
  });

  it('reflects at the border: a step edge at the image edge stays a mirror-symmetric blur', async () => {
    // 1-D row [1,0,0,0,0,0,0] blurred with reflection: padded [0,0,0 | 1,0,0...] (reflect excludes the edge).
    const row = [1, 0, 0, 0, 0, 0, 0];
    const img = tf.tensor4d(row, [1, 1, 7, 1]);
    const k = gauss(1, 3);
    const padded = [0, 0, 0, ...row, 0, 0, 0]; // reflection of [1,0,0,0] about index 0 gives 0,0,0
    const expected = row.map((_, x) => k.reduce((s, kv, t) => s + kv * padded[x + t], 0));
    // Vertical pass on a 1-row image replicates the edge (reflect impossible), i.e. identity.
    await noLeak(
      () => gaussianBlur(img, 1),
      async (out) => expectClose(await out.data(), expected, 1e-6),
    );
    img.dispose();
  });

  it('is differentiable: gradient of <blur(x), impulse> is the kernel (interior, symmetric)', async () => {
    const size = 11;
    const w = tf.buffer([size, size, 1]);
    w.set(1, 5, 5, 0);
    const wt = w.toTensor();
    const x = tf.zeros([size, size, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(gaussianBlur(t as tf.Tensor3D, 1), wt)))(x);
    const k = gauss(1, 3);
    const expected = new Float32Array(size * size);
    for (let i = -3; i <= 3; i++)
      for (let j = -3; j <= 3; j++) expected[(5 + i) * size + 5 + j] = k[i + 3] * k[j + 3];
    expectClose(await g.data(), expected, 1e-6);
    tf.dispose([wt, x, g]);
  });

  it('sigma 0 copies; negative sigma is BAD_OPTION', async () => {
    const img = tf.tensor3d([1, 2, 3, 4], [2, 2, 1]);
    await noLeak(
      () => gaussianBlur(img, 0),
      async (out) => expectClose(await out.data(), [1, 2, 3, 4]),
    );
    expect(() => gaussianBlur(img, -1)).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    expect(() => gaussianBlur(img, NaN)).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    img.dispose();
  });
});
