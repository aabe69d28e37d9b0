import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerKernelFixes } from '@cnnviz/core';
import { testImage, tinyModel } from '../test-util.js';
import { buildStyleNetwork } from './architecture.js';
import { asStyleNetwork } from './io.js';
import { colorStats } from '../color-transfer.js';
import { colorLoss, trainStyleNetwork } from './train.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerKernelFixes('cpu');
});

describe('trainStyleNetwork colour term', () => {
  it('colorLoss is the mean squared difference of cell means, by hand', () => {
    // 4x4, one channel repeated 3x; cells of 2: means of y are 1,2 / 3,4; x is 0 everywhere.
    const y = tf.tidy(() =>
      tf.tile(tf.tensor4d([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], [1, 4, 4, 1]), [2, 1, 1, 3]),
    ) as tf.Tensor4D;
    const x = tf.zerosLike(y);
    const l = colorLoss(y, x, 2);
    expect(Array.from(l.dataSync())).toEqual([7.5, 7.5]); // (1 + 4 + 9 + 16) / 4
    tf.dispose([y, x, l]);
  });

  it("the first step's loss is colorWeight x colorLoss(net(x), x) when the other terms are off", async () => {
    const model = tinyModel();
    const style = testImage(24, 24, 3, 21);
    // A flat image: every random crop, flip and resize of it is the same 32x32 picture.
    const flat = tf.tidy(() => tf.mul(tf.ones([40, 40, 3]), tf.tensor1d([0.8, 0.4, 0.2]))) as tf.Tensor3D;
    const crop = tf.tidy(() => tf.mul(tf.ones([1, 32, 32, 3]), tf.tensor1d([0.8, 0.4, 0.2]))) as tf.Tensor4D;
    const net = buildStyleNetwork({ width: 4, residualBlocks: 1, seed: 5 });
    const expected = tf.tidy(() => colorLoss(net.predict(crop) as tf.Tensor4D, crop, 8).dataSync()[0] * 3);
    expect(expected).toBeGreaterThan(1e-3);
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    const trained = await trainStyleNetwork(model, style, [flat], {
      contentLayer: 'relu2',
      styleLayers: ['relu1'],
      size: 32,
      steps: 3,
      lr: 0.01,
      contentWeight: 0,
      styleWeight: 0,
      tvWeight: 0,
      logitPenalty: 0,
      colorWeight: 3,
      network: asStyleNetwork(net),
      onProgress: (s) => losses.push(s.loss),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(losses[0]).toBeCloseTo(expected, 5);
    // Training on the colour term alone pulls the output's colours towards the input's.
    expect(losses[2]).toBeLessThan(losses[0]);
    await expect(
      trainStyleNetwork(model, style, [flat], {
        contentLayer: 'relu2',
        styleLayers: ['relu1'],
        size: 32,
        steps: 1,
        colorWeight: -1,
      }),
    ).rejects.toMatchObject({ code: 'BAD_OPTION' });
    trained.dispose();
    tf.dispose([style, flat, crop]);
    model.dispose();
  });

  it("colorTarget 'palette' pulls towards the crop recoloured to the style's palette: a flat crop becomes the style's mean colour", async () => {
    const model = tinyModel();
    const style = testImage(24, 24, 3, 21);
    // Dyadic values: every crop, resize and mean of the flat image is exact, so its covariance is exactly zero and
    // matchColors maps it to the style's mean colour (closed form).
    const rgb = tf.tensor1d([0.75, 0.5, 0.25]);
    const flat = tf.tidy(() => tf.mul(tf.ones([40, 40, 3]), rgb)) as tf.Tensor3D;
    const crop = tf.tidy(() => tf.mul(tf.ones([1, 32, 32, 3]), rgb)) as tf.Tensor4D;
    const net = buildStyleNetwork({ width: 4, residualBlocks: 1, seed: 5 });
    const [expected, towardsPhoto] = tf.tidy(() => {
      const stats = colorStats(tf.expandDims(style, 0) as tf.Tensor4D);
      const paletteImage = tf.mul(tf.ones([1, 32, 32, 3]), tf.clipByValue(stats.mean, 0, 1)) as tf.Tensor4D;
      const y = net.predict(crop) as tf.Tensor4D;
      return [colorLoss(y, paletteImage, 8).dataSync()[0] * 3, colorLoss(y, crop, 8).dataSync()[0] * 3];
    });
    // The two targets differ enough for the check to tell them apart.
    expect(Math.abs(expected - towardsPhoto)).toBeGreaterThan(1e-3);
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    await trainStyleNetwork(model, style, [flat], {
      contentLayer: 'relu2',
      styleLayers: ['relu1'],
      size: 32,
      steps: 1,
      contentWeight: 0,
      styleWeight: 0,
      tvWeight: 0,
      logitPenalty: 0,
      colorWeight: 3,
      colorTarget: 'palette',
      network: asStyleNetwork(net),
      onProgress: (s) => losses.push(s.loss),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(losses[0]).toBeCloseTo(expected, 5);
    await expect(
      trainStyleNetwork(model, style, [flat], {
        contentLayer: 'relu2',
        styleLayers: ['relu1'],
        size: 32,
        steps: 1,
        colorTarget: 'paint' as 'palette',
      }),
    ).rejects.toMatchObject({ code: 'BAD_OPTION' });
    net.dispose();
    tf.dispose([style, flat, crop, rgb]);
    model.dispose();
  });
});
