import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerKernelFixes } from '@cnnviz/core';
import { testImage, tinyModel } from '../test-util.js';
import { applyStyleNetwork } from './apply.js';
import { buildStyleNetwork } from './architecture.js';
import { asStyleNetwork } from './io.js';
import { saturationPenalty, styleNetworkLogits } from './logit-penalty.js';
import { trainStyleNetwork } from './train.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerKernelFixes('cpu');
});

/** Per channel: the largest |logit| and the mean excess relu(|z| − 4) of the network on `img`. */
function logitStats(
  net: tfl.LayersModel,
  img: tf.Tensor3D,
  logits = styleNetworkLogits(net),
): { max: number[]; excess: number[] } {
  if (!logits) throw new Error('no logits');
  return tf.tidy(() => {
    const z = tf.abs(logits.predict(tf.expandDims(img, 0)) as tf.Tensor);
    return {
      max: Array.from(tf.max(z, [0, 1, 2]).dataSync()),
      excess: Array.from(tf.mean(tf.relu(tf.sub(z, 4)), [0, 1, 2]).dataSync()),
    };
  });
}

/** Sets the bias of the last convolution (the one before the 'rgb' sigmoid). */
function setRgbBias(net: tfl.LayersModel, bias: number[]): void {
  const convs = net.layers.filter((l) => l.getClassName() === 'Conv2D');
  const last = convs[convs.length - 1];
  const [kernel] = last.getWeights();
  const newBias = tf.tensor1d(bias);
  last.setWeights([kernel, newBias]);
  newBias.dispose();
}

describe('logit saturation penalty', () => {
  it('equals mean(relu(|z| - limit)^2) on a hand-made z', () => {
    const z = tf.tensor2d([
      [0, 3.9, -4, 5],
      [-7, 10, 4.5, -0.5],
    ]);
    // Beyond ±4: 5 -> 1, -7 -> 3, 10 -> 6, 4.5 -> 0.5; squares 1 + 9 + 36 + 0.25 over 8 elements.
    const before = tf.memory().numTensors;
    const p = saturationPenalty(z, 4);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(p.dataSync()[0]).toBeCloseTo(46.25 / 8, 6);
    const q = saturationPenalty(z, 20);
    expect(q.dataSync()[0]).toBe(0);
    // Its gradient is 2 (|z| - limit) sign(z) / count beyond the limit and 0 within.
    const g = tf.grad((t: tf.Tensor) => saturationPenalty(t, 4))(z);
    const expected = [0, 0, 0, 2 / 8, -6 / 8, 12 / 8, 1 / 8, 0];
    Array.from(g.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i], 6));
    tf.dispose([z, p, q, g]);
  });

  it('the logit model shares the network weights: sigmoid(z) is the output', () => {
    const net = buildStyleNetwork({ width: 4, residualBlocks: 1 });
    const img = testImage(16, 16, 3, 5);
    const before = tf.memory().numTensors;
    const logits = styleNetworkLogits(net);
    expect(logits).toBeDefined();
    expect(tf.memory().numTensors).toBe(before);
    const diff = tf.tidy(() => {
      const x = tf.expandDims(img, 0);
      const y = net.predict(x) as tf.Tensor;
      const z = logits!.predict(x) as tf.Tensor;
      return tf.max(tf.abs(tf.sub(tf.sigmoid(z), y))).dataSync()[0];
    });
    expect(diff).toBeLessThan(1e-6);
    // Changing the network's weights changes the logit model's output too (shared variables).
    expect(Math.max(...logitStats(net, img, logits).max)).toBeLessThan(10);
    setRgbBias(net, [30, -30, 30]);
    expect(Math.min(...logitStats(net, img, logits).max)).toBeGreaterThan(25);
    // A network without an 'rgb' sigmoid output has no logits.
    const input = tfl.input({ shape: [null, null, 3] });
    const plain = tfl.model({
      inputs: input,
      outputs: tfl.layers
        .conv2d({ filters: 3, kernelSize: 1, name: 'rgb' })
        .apply(input) as tfl.SymbolicTensor,
    });
    expect(styleNetworkLogits(plain)).toBeUndefined();
    tf.dispose(img);
    net.dispose();
    plain.dispose();
  });

  it('training pulls a saturated channel back towards ±logitLimit; without the penalty it stays', async () => {
    const model = tinyModel();
    const style = testImage(24, 24, 3, 21);
    const images = [testImage(32, 32, 3, 1), testImage(36, 40, 3, 2)];
    const probe = testImage(32, 32, 3, 7);
    const options = {
      contentLayer: 'relu2',
      styleLayers: ['relu1', 'relu2'],
      size: 32,
      steps: 16,
      lr: 0.01,
      seed: 3,
    };
    // Red logits near −30 (sigmoid gradient 1e-13), like the bundled network's red nose; green
    // and blue healthy. Two identical copies (seeded initial weights).
    const atStart = tf.memory().numTensors;
    const nets = [0, 1].map(() => {
      const net = buildStyleNetwork({ width: 4, residualBlocks: 1, seed: 4 });
      setRgbBias(net, [-30, 0, 0]);
      return net;
    });
    const start = logitStats(nets[0], probe);
    expect(logitStats(nets[1], probe)).toEqual(start);
    expect(start.max[0]).toBeGreaterThan(25);
    expect(start.excess[0]).toBeGreaterThan(20);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    const a = await trainStyleNetwork(model, style, images, {
      ...options,
      network: asStyleNetwork(nets[0]),
      onProgress: (s) => losses.push(s.loss),
    });
    const b = await trainStyleNetwork(model, style, images, {
      ...options,
      network: asStyleNetwork(nets[1]),
      logitPenalty: 0,
    });
    expect(tf.memory().numTensors).toBe(before);
    const withPenalty = logitStats(a.model, probe);
    const without = logitStats(b.model, probe);
    // Adam moves every weight by up to lr a step when its gradient is well above its ε (1e-7):
    // the penalty's is; the loss's, through the saturated red sigmoid, is not, so without the
    // penalty the red logits stay where they were.
    expect(withPenalty.max[0]).toBeLessThan(start.max[0] - 8);
    expect(withPenalty.excess[0]).toBeLessThan(0.4 * start.excess[0]);
    expect(without.max[0]).toBeGreaterThan(start.max[0] - 3);
    expect(without.excess[0]).toBeGreaterThan(0.95 * start.excess[0]);
    // The loss alone also drives the healthy channels into saturation; the penalty holds them.
    expect(Math.max(...withPenalty.max)).toBeLessThan(Math.max(...without.max));
    expect(withPenalty.max[1] + withPenalty.max[2]).toBeLessThan(0.5 * (without.max[1] + without.max[2]));
    // The reported loss includes the penalty, ~mean((30 − 4)²) / 3 at the start, and falls.
    expect(losses[0]).toBeGreaterThan(150);
    expect(losses[losses.length - 1]).toBeLessThan(0.5 * losses[0]);
    // The saved format is unchanged: still one LayersModel ending in the 'rgb' sigmoid.
    expect(a.model.outputs[0].sourceLayer.name).toBe('rgb');
    const out = applyStyleNetwork(a, probe);
    const v = out.dataSync();
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...v)).toBeLessThanOrEqual(1);
    out.dispose();
    a.dispose();
    b.dispose();
    expect(tf.memory().numTensors).toBe(atStart);
    tf.dispose([style, probe, ...images]);
    model.dispose();
  });

  it('rejects bad penalty options', async () => {
    const model = tinyModel();
    const img = testImage(24, 24);
    const base = { contentLayer: 'relu2', styleLayers: ['relu1'], size: 16, steps: 1 };
    for (const bad of [
      { logitPenalty: -1 },
      { logitPenalty: Number.NaN },
      { logitLimit: 0 },
      { logitLimit: -2 },
      { logitLimit: Infinity },
    ]) {
      await expect(trainStyleNetwork(model, img, [img], { ...base, ...bad })).rejects.toMatchObject({
        code: 'BAD_OPTION',
      });
    }
    tf.dispose(img);
    model.dispose();
  });
});
