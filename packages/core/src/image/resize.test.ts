import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { resize } from './resize.js';
import { cropOrPad } from './crop-pad.js';
import { expectClose, noLeak } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('resize', () => {
  it('upsamples 2x2 with half-pixel centres (hand-computed)', async () => {
    const img = tf.tensor3d([0, 1, 2, 3], [2, 2, 1]);
    // Source coordinates of the 4 output rows/cols: -0.25→0, 0.25, 0.75, 1.25→1.
    const r = [0, 0.25, 0.75, 1];
    const expected = r.flatMap((y) => r.map((x) => 2 * y + x));
    await noLeak(
      () => resize(img, [4, 4]),
      async (out) => {
        expect(out.shape).toEqual([4, 4, 1]);
        expectClose(await out.data(), expected);
      },
    );
    img.dispose();
  });

  it('downsamples 4x4 to 2x2 by averaging 2x2 blocks (half-pixel), batched', async () => {
    const vals = Array.from({ length: 16 }, (_, i) => i);
    const img = tf.tensor4d([...vals, ...vals.map((v) => 2 * v)], [2, 4, 4, 1]);
    const block = [2.5, 4.5, 10.5, 12.5];
    await noLeak(
      () => resize(img, [2, 2]),
      async (out) => {
        expect(out.shape).toEqual([2, 2, 2, 1]);
        expectClose(await out.data(), [...block, ...block.map((v) => 2 * v)]);
      },
    );
    img.dispose();
  });

  it('is differentiable: each input of a 2x2→4x4 upsample gets total weight 4', async () => {
    const img = tf.tensor3d([0, 1, 2, 3], [2, 2, 1]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(resize(x as tf.Tensor3D, [4, 4])))(img);
    expectClose(await g.data(), [4, 4, 4, 4]);
    tf.dispose([img, g]);
  });

  it('rejects bad input', () => {
    const img = tf.zeros([2, 2, 1]) as tf.Tensor3D;
    expect(() => resize(tf.zeros([2, 2]) as unknown as tf.Tensor3D, [4, 4])).toThrow(
      expect.objectContaining({ code: 'BAD_IMAGE' }),
    );
    expect(() => resize(img, [0, 4])).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
    expect(() => resize(img, [2.5, 4] as [number, number])).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION' }),
    );
    img.dispose();
  });
});

describe('cropOrPad', () => {
  it('centre-crops 3x4 to 2x2', async () => {
    const img = tf.tensor3d(
      Array.from({ length: 12 }, (_, i) => i),
      [3, 4, 1],
    );
    // Rows: surplus 1 → offset 0; cols: surplus 2 → offset 1.
    await noLeak(
      () => cropOrPad(img, [2, 2]),
      async (out) => expectClose(await out.data(), [1, 2, 5, 6]),
    );
    img.dispose();
  });

  it('centre-pads 2x2 to 3x5 with padValue (odd surplus bottom/right)', async () => {
    const img = tf.tensor3d([1, 2, 3, 4], [2, 2, 1]);
    const p = 9;
    const expected = [p, 1, 2, p, p, p, 3, 4, p, p, p, p, p, p, p];
    await noLeak(
      () => cropOrPad(img, [3, 5], { padValue: p }),
      async (out) => {
        expect(out.shape).toEqual([3, 5, 1]);
        expectClose(await out.data(), expected);
      },
    );
    img.dispose();
  });

  it('crops one axis and pads the other, on a batch', async () => {
    const img = tf.tensor4d([1, 2, 3, 4, 5, 6], [1, 3, 2, 1]);
    // rows 3→1 (offset 1): [3,4]; cols 2→4: pad 1 left, 1 right.
    await noLeak(
      () => cropOrPad(img, [1, 4]),
      async (out) => {
        expect(out.shape).toEqual([1, 1, 4, 1]);
        expectClose(await out.data(), [0, 3, 4, 0]);
      },
    );
    img.dispose();
  });
});

describe('resize gradient', () => {
  it('matches finite differences for a non-integer scale (5x3 → 3x7)', async () => {
    const rng = (i: number) => Math.sin(i * 12.9898) * 0.5 + 0.5;
    const H = 5,
      W = 3,
      h = 3,
      w = 7;
    const x0 = Array.from({ length: H * W * 2 }, (_, i) => rng(i));
    const wts = tf.tensor4d(
      Array.from({ length: h * w * 2 }, (_, i) => rng(i + 100)),
      [1, h, w, 2],
    );
    const f = (x: tf.Tensor) => tf.sum(tf.mul(resize(x as tf.Tensor4D, [h, w]), wts));
    const x = tf.tensor4d(x0, [1, H, W, 2]);
    const g = await tf.grad(f)(x).data();
    // f is linear in x, so central differences with step 1 are exact up to rounding.
    for (let i = 0; i < x0.length; i++) {
      const plus = x0.slice();
      plus[i] += 1;
      const minus = x0.slice();
      minus[i] -= 1;
      const fp = tf.tidy(() => f(tf.tensor4d(plus, [1, H, W, 2])).dataSync()[0]);
      const fm = tf.tidy(() => f(tf.tensor4d(minus, [1, H, W, 2])).dataSync()[0]);
      expect(g[i]).toBeCloseTo((fp - fm) / 2, 4);
    }
    tf.dispose([x, wts]);
  });
});

describe('resize gradient (dense reference)', () => {
  /** Dense [out, in] half-pixel interpolation matrix, written independently of resize.ts. */
  function dense(out: number, inp: number): number[][] {
    return Array.from({ length: out }, (_, i) => {
      const row = new Array(inp).fill(0);
      const s = Math.min(Math.max(((i + 0.5) * inp) / out - 0.5, 0), inp - 1);
      const lo = Math.floor(s);
      row[lo] += 1 - (s - lo);
      row[Math.min(lo + 1, inp - 1)] += s - lo;
      return row;
    });
  }

  it.each(['cpu', 'wasm'])(
    'equals Ryᵀ · W · Rx for 4x upsampling and strong downsampling on %s',
    async (backend) => {
      await tf.setBackend(backend);
      await tf.ready();
      for (const [H, W, h, w] of [
        [3, 4, 13, 16],
        [17, 9, 2, 3],
        [31, 29, 28, 26],
      ]) {
        const wts = Array.from({ length: h * w }, (_, i) => Math.cos(i * 1.7));
        const Wt = tf.tensor4d(wts, [1, h, w, 1]);
        const x = tf.zeros([1, H, W, 1]);
        const before = tf.memory().numTensors;
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(resize(t as tf.Tensor4D, [h, w]), Wt)))(x);
        const ry = dense(h, H);
        const rx = dense(w, W);
        const expected: number[] = [];
        for (let r = 0; r < H; r++) {
          for (let q = 0; q < W; q++) {
            let s = 0;
            for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) s += ry[i][r] * wts[i * w + j] * rx[j][q];
            expected.push(s);
          }
        }
        expectClose(await g.data(), expected, 1e-5);
        g.dispose();
        expect(tf.memory().numTensors).toBe(before);
        tf.dispose([Wt, x]);
      }
      await tf.setBackend('cpu');
    },
  );
});
