import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { receptiveField, receptiveFieldBox } from './receptive-field.js';
import { topPatches } from './top-patches.js';
import { expectClose, expectNoLeak, seededImage, smallRgbNet, tinyNet } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('topPatches', () => {
  it('finds the bright pixels, best first, and crops the receptive field around them', async () => {
    // conv 3x3 of ones: a unit's value is the sum of its 3x3 window.
    const net = tinyNet(
      [6, 6, 1],
      [
        { type: 'conv', name: 'sum3', shape: [3, 3, 1, 1], kernel: new Array(9).fill(1), bias: [0] },
        { type: 'flatten', name: 'flat' },
      ],
    );
    const bright = [
      [0.5, 3, 4],
      [0.9, 1, 1],
      [0.7, 5, 2],
    ];
    const images = bright.map(([v, y, x]) => {
      const data = new Float32Array(36);
      data[y * 6 + x] = v;
      return tf.tensor3d(data, [6, 6, 1]);
    });
    const patches = await topPatches(net, images, { layer: 'sum3', channel: 0, k: 3, distinctImages: true });
    expect(patches.map((p) => p.imageIndex)).toEqual([1, 2, 0]);
    expectClose(
      patches.map((p) => p.value),
      [0.9, 0.7, 0.5],
      1e-6,
    );
    for (const p of patches) {
      const [, y, x] = bright[p.imageIndex];
      // Ties keep the first unit in scan order: the window whose top-left is 2 up and 2 left (clipped at 0).
      expect([p.y, p.x]).toEqual([Math.max(0, y - 2), Math.max(0, x - 2)]);
      expect(p.box).toEqual({ top: p.y, left: p.x, height: 3, width: 3 });
      const expected = tf.slice(images[p.imageIndex], [p.box.top, p.box.left, 0], [3, 3, 1]);
      expectClose(await p.patch.data(), await expected.data(), 0);
      expect(Math.max(...(await p.patch.data()))).toBeCloseTo(bright[p.imageIndex][0], 6);
      expected.dispose();
      p.patch.dispose();
    }
    tf.dispose(images);
    net.dispose();
  });

  it('equals a brute-force ranking of all units, boxes from the receptive field, in any batch size', async () => {
    const net = smallRgbNet(41);
    const batch = tf.stack([1, 2, 3, 4, 5].map((s) => seededImage([8, 8, 3], s))) as tf.Tensor4D;
    const act = tf.tidy(() =>
      tf.slice(
        net.forward(net.preprocess(batch), ['relu2']).activations.relu2,
        [0, 0, 0, 2],
        [-1, -1, -1, 1],
      ),
    );
    const values = Array.from(await act.data());
    act.dispose();
    const order = values
      .map((v, i) => ({ v, i }))
      .sort((a, b) => b.v - a.v || a.i - b.i)
      .slice(0, 6);
    const rf = receptiveField(net, 'relu2');
    expect(rf).toMatchObject({ size: [5, 5], stride: [2, 2], offset: [-1, -1] });
    for (const internalBatchSize of [2, 5]) {
      const patches = await topPatches(net, batch, { layer: 'relu2', channel: 2, k: 6, internalBatchSize });
      expect(patches.map((p) => p.value)).toEqual(order.map((o) => o.v));
      patches.forEach((p, j) => {
        const i = order[j].i;
        expect([p.imageIndex, p.y, p.x]).toEqual([Math.floor(i / 16), Math.floor((i % 16) / 4), i % 4]);
        expect(p.box).toEqual(receptiveFieldBox(rf, p.y, p.x, [8, 8]));
        expect(p.patch.shape).toEqual([p.box.height, p.box.width, 3]);
        p.patch.dispose();
      });
    }
    await expectNoLeak(async () => {
      const ps = await topPatches(net, batch, { layer: 'relu2', channel: 0, k: 2 });
      ps.forEach((p) => p.patch.dispose());
    });
    await expect(topPatches(net, batch, { layer: 'fc', channel: 0 })).rejects.toMatchObject({
      code: 'BAD_LAYER',
    });
    await expect(topPatches(net, batch, { layer: 'relu2', channel: 6 })).rejects.toMatchObject({
      code: 'BAD_TARGET',
    });
    await expect(topPatches(net, batch, { layer: 'nope', channel: 0 })).rejects.toMatchObject({
      code: 'UNKNOWN_LAYER',
    });
    batch.dispose();
    net.dispose();
  });
});
