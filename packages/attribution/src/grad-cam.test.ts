import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { channel } from '@cnnviz/core';
import { gradCam } from './grad-cam.js';
import { gradCamPlusPlus } from './grad-cam-plus-plus.js';
import { captumConvNet, expectClose, expectNoLeak, smallRgbNet, seededImage } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Captum's test_grad_cam.py test_simple_input_conv: arange(16) as a 4x4 image, target 0.
const arange = () =>
  tf.tensor3d(
    Array.from({ length: 16 }, (_, i) => i),
    [4, 4, 1],
  );

describe('gradCam', () => {
  it("equals the hand-computed map on Captum's one-conv net (pre-ReLU conv layer)", async () => {
    // conv1 = window sums - bias: ch0 [-5,4,31,40], ch1 [-30,-21,6,15]; d out0 / d conv1 =
    // fc weights through both ReLUs: ch0 [0,1,1,1], ch1 [0,0,-1,-1] → alphas 0.75, -0.5.
    const net = captumConvNet();
    const img = arange();
    const r = await gradCam(net, img, { target: 0, layer: 'conv1' });
    expect(r.map.shape).toEqual([2, 2]);
    expect(r.layer).toBe('conv1');
    expectClose(await r.map.data(), [11.25, 13.5, 20.25, 22.5], 1e-4);
    expectClose(await r.raw.data(), [11.25, 13.5, 20.25, 22.5], 1e-4);
    expectClose(await r.weights.data(), [0.75, -0.5], 1e-6);
    r.dispose();
    img.dispose();
    net.dispose();
  });

  it('defaults to the conv block output (after its ReLU) and matches the hand-computed map there', async () => {
    // relu1 = [0,4,31,40] / [0,0,6,15]; gradient = fc weights: ch0 [1,1,1,1], ch1 [1,-1,-1,-1]
    // → alphas 1, -0.5 → ReLU([0,4,28,32.5]).
    const net = captumConvNet();
    const img = arange();
    const r = await gradCam(net, img, { target: 0 });
    expect(r.layer).toBe('relu1');
    expectClose(await r.map.data(), [0, 4, 28, 32.5], 1e-4);
    r.dispose();
    img.dispose();
    net.dispose();
  });

  it('Grad-CAM++ equals its closed form by hand', async () => {
    // ch0: g = [0,1,1,1], sum A = 70 → a = 1/(2 + 70) where g != 0 → weight 3/72;
    // ch1: ReLU(g) = 0 → weight 0. Map = ReLU(A0 / 24).
    const net = captumConvNet();
    const img = arange();
    const r = await gradCamPlusPlus(net, img, { target: 0, layer: 'conv1' });
    expectClose(await r.weights.data(), [3 / 72, 0], 1e-6);
    expectClose(await r.map.data(), [0, 4 / 24, 31 / 24, 40 / 24], 1e-5);
    r.dispose();
    img.dispose();
    net.dispose();
  });

  it('runs a batch with one target per image, equal to image-by-image results, in any internal batch size', async () => {
    const net = smallRgbNet(3);
    const a = seededImage([8, 8, 3], 11);
    const b = seededImage([8, 8, 3], 12);
    const batch = tf.stack([a, b]) as tf.Tensor4D;
    const single = [await gradCam(net, a, { target: 1 }), await gradCam(net, b, { target: 4 })];
    for (const internalBatchSize of [1, 2]) {
      const r = await gradCam(net, batch, { target: [1, 4], internalBatchSize, upsample: true });
      expect(r.map.shape).toEqual([2, 4, 4]);
      expect(r.upsampled!.shape).toEqual([2, 8, 8]);
      const maps = tf.unstack(r.map);
      for (let i = 0; i < 2; i++) expectClose(await maps[i].data(), await single[i].map.data(), 1e-5);
      tf.dispose(maps);
      r.dispose();
    }
    single.forEach((s) => s.dispose());
    tf.dispose([a, b, batch]);
    net.dispose();
  });

  it('accepts an objective (a channel of an intermediate layer) as target', async () => {
    // For the objective mean(relu1[..., 0]) at layer relu1: d/dA0 = 1/4 everywhere, 0 for ch1,
    // so the map is ReLU(A0 / 4).
    const net = captumConvNet();
    const img = arange();
    const r = await gradCam(net, img, { target: channel('relu1', 0), layer: 'relu1' });
    expectClose(await r.map.data(), [0, 1, 31 / 4, 10], 1e-5);
    r.dispose();
    img.dispose();
    net.dispose();
  });

  it('leaks no tensors', async () => {
    const net = smallRgbNet(2);
    const img = seededImage([8, 8, 3], 5);
    await expectNoLeak(async () => (await gradCam(net, img, { target: 2, upsample: true })).dispose());
    await expectNoLeak(async () => (await gradCamPlusPlus(net, img, { target: 2 })).dispose());
    img.dispose();
    net.dispose();
  });
});
