import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError, registerKernelFixes } from '@cnnviz/core';
import { testImage, tinyModel } from '../test-util.js';
import { applyStyleNetwork } from './apply.js';
import { buildStyleNetwork } from './architecture.js';
import { styleNetworkForward } from './fast-forward.js';
import { asStyleNetwork, loadBundledStyleNetwork, loadStyleNetwork, saveStyleNetwork } from './io.js';
import { trainStyleNetwork } from './train.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerKernelFixes('cpu');
});

describe('style network', () => {
  it('maps any image size to the same size in 0..1, without leaking', () => {
    const net = asStyleNetwork(buildStyleNetwork({ width: 4, residualBlocks: 1 }));
    for (const [h, w] of [
      [16, 16],
      [13, 22],
      [8, 9],
    ]) {
      const img = testImage(h, w);
      const before = tf.memory().numTensors;
      const out = applyStyleNetwork(net, img);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(out.shape).toEqual([h, w, 3]);
      const v = out.dataSync();
      expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...v)).toBeLessThanOrEqual(1);
      tf.dispose([img, out]);
    }
    net.dispose();
  });

  it('the fast layer-by-layer inference equals the LayersModel forward pass', () => {
    const net = buildStyleNetwork({ width: 4, residualBlocks: 2 });
    // Random biases and norm parameters, so no term is trivially zero.
    net.setWeights(
      net
        .getWeights()
        .map((w, i) => tf.tidy(() => tf.add(w, tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', i), 0.1)))),
    );
    for (const [h, w] of [
      [16, 16],
      [12, 20],
    ]) {
      const x = tf.tidy(() => tf.expandDims(testImage(h, w), 0)) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const fast = tf.tidy(() => styleNetworkForward(net, x));
      expect(tf.memory().numTensors).toBe(before + 1);
      const ref = net.apply(x) as tf.Tensor4D;
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(fast, ref))).dataSync()[0])).toBeLessThan(1e-5);
      tf.dispose([x, fast, ref]);
    }
    net.dispose();
  });

  it('instance norm makes the output independent of the input brightness/contrast (before the last conv)', () => {
    // Scaling the input by a positive factor and shifting it leaves every instance-normalised
    // activation unchanged, hence the output too: a property of instance norm, not of batch norm.
    const net = asStyleNetwork(buildStyleNetwork({ width: 4, residualBlocks: 1 }));
    const img = testImage(16, 16);
    const other = tf.tidy(() => tf.sub(tf.mul(img, 2), 0.3)) as tf.Tensor3D;
    const a = applyStyleNetwork(net, img);
    const b = applyStyleNetwork(net, other);
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    expect(diff).toBeLessThan(1e-3);
    // ...whereas a different image does change it.
    const third = testImage(16, 16, 3, 99);
    const c = applyStyleNetwork(net, third);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, c))).dataSync()[0])).toBeGreaterThan(1e-2);
    tf.dispose([third, c]);
    tf.dispose([img, other, a, b]);
    net.dispose();
  });

  it('trains (loss falls), saves and loads back to identical outputs', async () => {
    const model = tinyModel();
    const style = testImage(24, 24, 3, 21);
    const images = [testImage(20, 28, 3, 1), testImage(24, 24, 3, 2)];
    const losses: number[] = [];
    const before = tf.memory().numTensors;
    const net = await trainStyleNetwork(model, style, images, {
      contentLayer: 'relu2',
      styleLayers: ['relu1', 'relu2'],
      size: 16,
      steps: 20,
      lr: 0.01,
      width: 4,
      residualBlocks: 1,
      onProgress: (s) => losses.push(s.loss),
    });
    const head = losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const tail = losses.slice(-5).reduce((a, b) => a + b) / 5;
    expect(tail).toBeLessThan(0.8 * head);
    const dir = mkdtempSync(join(tmpdir(), 'cnnviz-style-'));
    try {
      await saveStyleNetwork(net, dir);
      expect(existsSync(join(dir, 'model.json'))).toBe(true);
      const loaded = await loadStyleNetwork(dir);
      const img = testImage(12, 12, 3, 9);
      const a = applyStyleNetwork(net, img);
      const b = applyStyleNetwork(loaded, img);
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0])).toBeLessThan(1e-6);
      tf.dispose([img, a, b]);
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([style, ...images]);
    model.dispose();
  });

  it('rejects bad input', async () => {
    const model = tinyModel();
    const img = testImage(24, 24);
    await expect(
      trainStyleNetwork(model, img, [], { contentLayer: 'relu2', styleLayers: ['relu1'] }),
    ).rejects.toBeInstanceOf(CnnvizError);
    await expect(
      trainStyleNetwork(model, img, [img], { contentLayer: 'nope', styleLayers: ['relu1'] }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_LAYER' });
    await expect(
      trainStyleNetwork(model, img, [img], { contentLayer: 'relu2', styleLayers: ['relu1'], steps: 0 }),
    ).rejects.toMatchObject({ code: 'BAD_OPTION' });
    await expect(loadStyleNetwork('/nonexistent/dir')).rejects.toMatchObject({ code: 'MODEL_LOAD' });
    await expect(loadBundledStyleNetwork('monet' as 'starry_night')).rejects.toMatchObject({
      code: 'BAD_OPTION',
    });
    const gray = tf.zeros([8, 8, 1]) as tf.Tensor3D;
    const net = asStyleNetwork(buildStyleNetwork({ width: 4, residualBlocks: 1 }));
    expect(() => applyStyleNetwork(net, gray)).toThrow(CnnvizError);
    const tiny = tf.zeros([5, 9, 3]) as tf.Tensor3D;
    expect(() => applyStyleNetwork(net, tiny)).toThrow(CnnvizError);
    tiny.dispose();
    net.dispose();
    tf.dispose([img, gray]);
    model.dispose();
  });
});
