import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { occlusion } from './occlusion.js';
import {
  captumConvNet,
  expectClose,
  expectNoLeak,
  seededImage,
  smallRgbNet,
  type TinyNet,
} from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const arange = () =>
  tf.tensor3d(
    Array.from({ length: 16 }, (_, i) => i),
    [4, 4, 1],
  );

/** Score drop of one occluded copy, from a forward pass of its own. */
function drop(
  net: TinyNet,
  img: tf.Tensor3D,
  target: number,
  y0: number,
  x0: number,
  wy: number,
  wx: number,
  fill: number,
): number {
  return tf.tidy(() => {
    const [h, w, c] = img.shape;
    const data = img.dataSync().slice();
    for (let y = y0; y < y0 + wy; y++)
      for (let x = x0; x < x0 + wx; x++) for (let k = 0; k < c; k++) data[(y * w + x) * c + k] = fill;
    const score = (t: tf.Tensor3D) => net.forward(net.preprocess(t)).logits.dataSync()[target];
    return score(img) - score(tf.tensor3d(data, [h, w, c]));
  });
}

describe('occlusion', () => {
  it("equals the hand-computed score drops on Captum's one-conv net (window 2 = stride 2)", async () => {
    // f(arange) = 54. Zeroing each 2x2 quadrant leaves 47, 50, 18 and 7 (worked out by hand from
    // the window sums of conv1), so the drops are 7, 4, 36 and 47, each filling its quadrant.
    const net = captumConvNet();
    const img = arange();
    const r = await occlusion(net, img, { target: 0, window: 2, stride: 2 });
    expect(r.raw.shape).toEqual([2, 2]);
    expectClose(await r.raw.data(), [7, 4, 36, 47], 1e-4);
    expectClose(await r.map.data(), [7, 7, 4, 4, 7, 7, 4, 4, 36, 36, 47, 47, 36, 36, 47, 47], 1e-4);
    expect(r.scores).toEqual([54]);
    expect(r.signed).toBe(true);
    r.dispose();
    img.dispose();
    net.dispose();
  });

  it('stride = window: every pixel gets exactly the drop of its window (random net, RGB, baseline 0.5)', async () => {
    const net = smallRgbNet(21);
    const img = seededImage([8, 8, 3], 22);
    const r = await occlusion(net, img, {
      target: 2,
      window: [4, 2],
      stride: [4, 2],
      baseline: 0.5,
      internalBatchSize: 3,
    });
    expect(r.raw.shape).toEqual([2, 4]);
    const raw = await r.raw.data();
    const map = await r.map.data();
    for (let a = 0; a < 2; a++) {
      for (let b = 0; b < 4; b++) {
        const d = drop(net, img, 2, 4 * a, 2 * b, 4, 2, 0.5);
        expect(raw[a * 4 + b]).toBeCloseTo(d, 5);
        for (let y = 4 * a; y < 4 * a + 4; y++)
          for (let x = 2 * b; x < 2 * b + 2; x++) expect(map[y * 8 + x]).toBeCloseTo(d, 5);
      }
    }
    r.dispose();
    img.dispose();
    net.dispose();
  });

  it('overlapping windows: map = mean drop over the windows covering each pixel, 0 where none does', async () => {
    const net = smallRgbNet(23);
    const img = seededImage([8, 8, 3], 24);
    // Window 3, stride 2 on 8 pixels: windows at 0, 2, 4 cover rows 0..6; row/column 7 is uncovered.
    const r = await occlusion(net, img, { target: 4, window: 3, stride: 2 });
    const sum = new Float64Array(64);
    const count = new Float64Array(64);
    for (const y0 of [0, 2, 4]) {
      for (const x0 of [0, 2, 4]) {
        const d = drop(net, img, 4, y0, x0, 3, 3, 0);
        for (let y = y0; y < y0 + 3; y++)
          for (let x = x0; x < x0 + 3; x++) {
            sum[y * 8 + x] += d;
            count[y * 8 + x]++;
          }
      }
    }
    expectClose(
      await r.map.data(),
      Array.from(sum, (s, p) => (count[p] ? s / count[p] : 0)),
      1e-5,
    );
    expect(r.ys).toEqual([0, 2, 4]);
    r.dispose();
    img.dispose();
    net.dispose();
  });

  it('batch of images with per-image targets; the memory budget only changes the batching', async () => {
    const net = smallRgbNet(25);
    const imgs = [seededImage([8, 8, 3], 1), seededImage([8, 8, 3], 2)];
    const batch = tf.stack(imgs) as tf.Tensor4D;
    const a = await occlusion(net, batch, { target: [1, 3], window: 4, stride: 2 });
    const b = await occlusion(net, batch, { target: [1, 3], window: 4, stride: 2, maxBatchBytes: 1 });
    expect(a.map.shape).toEqual([2, 8, 8]);
    expect(a.raw.shape).toEqual([2, 3, 3]);
    expectClose(await a.map.data(), await b.map.data(), 1e-6);
    const single = await occlusion(net, imgs[1], { target: 3, window: 4, stride: 2 });
    expectClose((await a.raw.data()).slice(9), await single.raw.data(), 1e-6);
    [a, b, single].forEach((r) => r.dispose());
    await expectNoLeak(async () =>
      (await occlusion(net, batch, { target: [1, 3], window: 4, stride: 4 })).dispose(),
    );
    tf.dispose([...imgs, batch]);
    net.dispose();
  });
});
