import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fromLayersModel } from './layers-model.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const init = (seed: number, mean = 0, stddev = 0.5) => tfl.initializers.randomNormal({ mean, stddev, seed });

/**
 * MobileNetV2's pattern with non-trivial BatchNorm statistics: conv → BN → ReLU6, zero padding → strided
 * depthwise → BN → ReLU, conv → BN.
 */
function bnModel(): tfl.LayersModel {
  const bn = (name: string, k: number) =>
    tfl.layers.batchNormalization({
      name,
      epsilon: 1e-3,
      gammaInitializer: init(k, 1, 0.3),
      betaInitializer: init(k + 1),
      movingMeanInitializer: init(k + 2),
      movingVarianceInitializer: tfl.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: k + 3 }),
    });
  const input = tfl.input({ shape: [9, 9, 3], name: 'img' });
  let h = tfl.layers
    .conv2d({
      name: 'c1',
      filters: 4,
      kernelSize: 3,
      strides: 2,
      padding: 'same',
      kernelInitializer: init(1),
    })
    .apply(input) as tfl.SymbolicTensor;
  h = bn('c1_bn', 10).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.reLU({ name: 'c1_relu', maxValue: 6 }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers
    .zeroPadding2d({
      name: 'pad',
      padding: [
        [0, 1],
        [1, 1],
      ],
    })
    .apply(h) as tfl.SymbolicTensor;
  h = tfl.layers
    .depthwiseConv2d({
      name: 'dw',
      kernelSize: 3,
      strides: 2,
      padding: 'valid',
      depthwiseInitializer: init(2),
      useBias: true,
    })
    .apply(h) as tfl.SymbolicTensor;
  h = bn('dw_bn', 20).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers.activation({ name: 'dw_relu', activation: 'relu' }).apply(h) as tfl.SymbolicTensor;
  h = tfl.layers
    .conv2d({ name: 'c2', filters: 5, kernelSize: 1, kernelInitializer: init(3), useBias: false })
    .apply(h) as tfl.SymbolicTensor;
  h = bn('c2_bn', 30).apply(h) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: h });
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('BatchNorm folding and fused conv chains', () => {
  const x = () => tf.randomUniform([2, 9, 9, 3], 0, 1, 'float32', 7) as tf.Tensor4D;

  it('equals tfjs-layers, runs no BatchNorm kernel and frees what it made', async () => {
    const input = x();
    // tfjs-layers caches a few scalars on its first predict: let it do so before counting.
    const warm = bnModel();
    tf.dispose(warm.predict(input) as tf.Tensor);
    warm.dispose();
    const before = tf.memory().numTensors;
    const model = bnModel();
    const vm = fromLayersModel(model);
    const ref = tf.tidy(() => tf.reshape(model.predict(input) as tf.Tensor, [2, -1]));
    const { logits } = vm.forward(input);
    expect(maxAbsDiff(logits, ref)).toBeLessThan(1e-5);
    const info = await tf.profile(() => tf.dispose(vm.forward(input).logits));
    expect(info.kernelNames).not.toContain('FusedBatchNorm');
    expect(info.kernelNames).not.toContain('PadV2');
    expect(info.kernels.filter((k) => k.name.startsWith('Fused'))).toHaveLength(3);
    tf.dispose([ref, logits]);
    vm.dispose!();
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
  });

  it('a tap inside a chain gets its own value (pre-activation BatchNorm output, conv output, padding)', () => {
    const model = bnModel();
    const vm = fromLayersModel(model);
    const input = x();
    const taps = ['c1', 'c1_bn', 'pad', 'dw_bn', 'dw_relu'];
    const ref = tfl.model({
      inputs: model.inputs,
      outputs: taps.map((t) => model.getLayer(t).output as tfl.SymbolicTensor),
    });
    const expected = ref.predict(input) as tf.Tensor[];
    const before = tf.memory().numTensors;
    const out = vm.forward(input, taps);
    taps.forEach((t, i) => expect(maxAbsDiff(out.activations[t], expected[i])).toBeLessThan(1e-5));
    // dw_bn is negative somewhere: the tap really is before the ReLU.
    expect(tf.tidy(() => tf.min(out.activations.dw_bn).dataSync()[0])).toBeLessThan(0);
    tf.dispose([out.logits, ...Object.values(out.activations)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([input, ...expected]);
    vm.dispose!();
  });

  it('input gradient equals central finite differences', () => {
    const vm = fromLayersModel(bnModel());
    const input = x();
    const f = (t: tf.Tensor) => tf.sum(tf.square(vm.forward(t as tf.Tensor4D).logits)) as tf.Scalar;
    const g = tf.grad(f)(input);
    const gv = g.dataSync();
    const xv = input.dataSync();
    const eps = 1e-2;
    for (const idx of [0, 17, 100, 242, 300, 485]) {
      const plus = Float32Array.from(xv);
      const minus = Float32Array.from(xv);
      plus[idx] += eps;
      minus[idx] -= eps;
      const fd =
        (tf.tidy(() => f(tf.tensor4d(plus, input.shape)).dataSync()[0]) -
          tf.tidy(() => f(tf.tensor4d(minus, input.shape)).dataSync()[0])) /
        (2 * eps);
      expect(Math.abs(fd - gv[idx])).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
    tf.dispose([input, g]);
    vm.dispose!();
  });

  it('remakes the folded weights when a BatchNorm or conv weight changes, without leaking', () => {
    const model = bnModel();
    const vm = fromLayersModel(model);
    const input = x();
    const a = vm.forward(input).logits;
    const count = tf.memory().numTensors;
    const ws = vm.getWeights!('c2_bn'); // gamma, beta, mean, variance
    const bnWeights = [tf.fill([5], 2), tf.fill([5], 0.25), tf.zeros([5]), tf.fill([5], 1 - 1e-3)];
    vm.setWeights!('c2_bn', bnWeights);
    // Through the layer directly too (bypassing the VisionModel): c2's kernel doubled.
    const k = tf.mul(model.getLayer('c2').getWeights()[0], 2);
    model.getLayer('c2').setWeights([k]);
    const b = vm.forward(input, ['c2']);
    const expected = tf.tidy(() => tf.add(tf.mul(tf.reshape(b.activations.c2, [2, -1]), 2), 0.25));
    expect(maxAbsDiff(b.logits, expected)).toBeLessThan(1e-5);
    const c = vm.forward(input).logits;
    expect(maxAbsDiff(c, expected)).toBeLessThan(1e-5);
    expect(maxAbsDiff(a, c)).toBeGreaterThan(1e-2);
    tf.dispose([b.logits, b.activations.c2, expected, c, ...ws, ...bnWeights, k]);
    expect(tf.memory().numTensors).toBe(count);
    tf.dispose([a, input]);
    vm.dispose!();
  });
});
