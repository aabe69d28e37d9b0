import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  add,
  channel,
  layerL2,
  neuron,
  objectiveGradient,
  scale,
  type Objective,
  type VisionModel,
} from '@cnnviz/core';
import { fromLayersModel } from './layers-model.js';
import { zoo } from './zoo.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function seeded(k: number) {
  return tfl.initializers.randomNormal({ mean: 0, stddev: 0.5, seed: k });
}

function conv(name: string, filters: number, k: number, seed: number, activation = 'relu') {
  return tfl.layers.conv2d({
    name,
    filters,
    kernelSize: k,
    padding: 'same',
    activation: activation as 'relu',
    kernelInitializer: seeded(seed),
    biasInitializer: seeded(seed + 100),
  });
}

/**
 * An Inception-like block: stem → cat = [1x1 (3 ch) | 3x3 → BN → ReLU (4 ch) | inner = [pool (5 ch) |
 * 1x1 (2 ch)]] → BN → ReLU (`cat_relu`) → conv → dense head. Channels 0-2, 3-6, 7-11, 12-13.
 */
function inceptionLike(): tfl.LayersModel {
  const input = tfl.input({ shape: [9, 9, 3], name: 'img' });
  const stem = conv('stem', 5, 3, 1).apply(input) as tfl.SymbolicTensor;
  const b1 = conv('b1', 3, 1, 2).apply(stem) as tfl.SymbolicTensor;
  const b2c = conv('b2_conv', 4, 3, 3, 'linear').apply(stem) as tfl.SymbolicTensor;
  const b2bn = tfl.layers
    .batchNormalization({ name: 'b2_bn', movingMeanInitializer: seeded(4), gammaInitializer: seeded(5) })
    .apply(b2c) as tfl.SymbolicTensor;
  const b2 = tfl.layers.activation({ name: 'b2_relu', activation: 'relu' }).apply(b2bn) as tfl.SymbolicTensor;
  const pool = tfl.layers
    .averagePooling2d({ name: 'pool', poolSize: 3, strides: 1, padding: 'same' })
    .apply(stem) as tfl.SymbolicTensor;
  const b4 = conv('b4', 2, 1, 6).apply(stem) as tfl.SymbolicTensor;
  const inner = tfl.layers.concatenate({ name: 'inner', axis: -1 }).apply([pool, b4]) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ name: 'cat', axis: -1 }).apply([b1, b2, inner]) as tfl.SymbolicTensor;
  const bn = tfl.layers
    .batchNormalization({ name: 'cat_bn', movingMeanInitializer: seeded(7), betaInitializer: seeded(8) })
    .apply(cat) as tfl.SymbolicTensor;
  const relu = tfl.layers.reLU({ name: 'cat_relu' }).apply(bn) as tfl.SymbolicTensor;
  const top = conv('top', 4, 3, 9).apply(relu) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten({ name: 'flat' }).apply(top) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ name: 'logits', units: 3, kernelInitializer: seeded(10) }).apply(flat);
  return tfl.model({ inputs: input, outputs: out as tfl.SymbolicTensor });
}

/** The same objective without its channel sets: the model then computes every branch. */
function unpruned(o: Objective): Objective {
  return { ...o, channels: undefined };
}

function maxAbs(t: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => maxAbs(tf.sub(a, b)));
}

/** Values and input gradients with and without pruning agree to float rounding, and nothing leaks. */
function expectSameGradient(model: VisionModel, x: tf.Tensor4D, objective: Objective): void {
  const before = tf.memory().numTensors;
  const full = objectiveGradient(model, x, unpruned(objective));
  const pruned = objectiveGradient(model, x, objective);
  expect(maxAbs(full.grad)).toBeGreaterThan(0);
  expect(maxAbsDiff(pruned.values, full.values)).toBeLessThanOrEqual(1e-5 * Math.max(1, maxAbs(full.values)));
  expect(maxAbsDiff(pruned.grad, full.grad)).toBeLessThanOrEqual(1e-5 * maxAbs(full.grad));
  tf.dispose([full.values, full.grad, pruned.values, pruned.grad]);
  expect(tf.memory().numTensors).toBe(before);
}

/** Channel indices of `t`'s last axis that are zero everywhere. */
function zeroChannels(t: tf.Tensor): number[] {
  const c = t.shape[t.rank - 1];
  const m = tf.tidy(() => tf.max(tf.abs(tf.reshape(t, [-1, c])), 0).dataSync());
  return [...m].flatMap((v, k) => (v === 0 ? [k] : []));
}

describe('forward with channels: skipping the concatenated branches and convolution channels that no read channel comes from', () => {
  const x = () => tf.randomUniform([2, 9, 9, 3], 0, 1, 'float32', 11) as tf.Tensor4D;

  it('computes only the branch that holds the read channel, and of a convolution only that channel', () => {
    const vm = fromLayersModel(inceptionLike());
    const input = x();
    const before = tf.memory().numTensors;
    const full = vm.forward(input, ['cat'], { logits: false }).activations.cat;
    // Channel 4 lies in the second branch (3..6, a conv + BatchNorm + ReLU: only channel 4 is computed), channel 8 in
    // the nested concat's pool branch (7..11, computed whole).
    const pruned = vm.forward(input, ['cat'], { logits: false, channels: { cat: [4, 8] } }).activations.cat;
    expect(zeroChannels(full)).toEqual([]);
    expect(zeroChannels(pruned)).toEqual([0, 1, 2, 3, 5, 6, 12, 13]);
    const live = (t: tf.Tensor) => tf.gather(t, [4, 7, 8, 9, 10, 11], 3);
    expect(tf.tidy(() => maxAbsDiff(live(pruned), live(full)))).toBeLessThanOrEqual(1e-6 * maxAbs(full));
    tf.dispose([full, pruned]);
    expect(tf.memory().numTensors).toBe(before);
    input.dispose();
    vm.dispose!();
  });

  it('gives the same value and input gradient as the full graph, branch by branch', () => {
    const vm = fromLayersModel(inceptionLike());
    const input = x();
    for (const c of [1, 5, 9, 13]) expectSameGradient(vm, input, channel('cat', c));
    // Through BatchNorm and ReLU after the concatenation, with a neuron at a corner.
    expectSameGradient(vm, input, neuron('cat_relu', 6, 0, 8));
    // A channel set spanning two branches, and the sum's weights.
    expectSameGradient(
      vm,
      input,
      add(channel('cat', 2), scale(neuron('cat', 4), -2), channel('cat_relu', 12)),
    );
    input.dispose();
    vm.dispose!();
  });

  it('computes everything for whole-layer objectives, logits, or a second reader of the layer', () => {
    const vm = fromLayersModel(inceptionLike());
    const input = x();
    const l2 = layerL2('cat');
    expect(l2.channels).toBeUndefined();
    expect(add(l2, channel('cat', 1)).channels).toBeUndefined();
    expectSameGradient(vm, input, add(l2, channel('cat', 1)));
    const withLogits = vm.forward(input, ['cat'], { channels: { cat: [4] } });
    expect(zeroChannels(withLogits.activations.cat)).toEqual([]);
    // `top` reads every channel of cat_relu, hence of cat.
    const twoTaps = vm.forward(input, ['cat', 'top'], { logits: false, channels: { cat: [4] } });
    expect(zeroChannels(twoTaps.activations.cat)).toEqual([]);
    tf.dispose([withLogits.logits!, withLogits.activations.cat, ...Object.values(twoTaps.activations)]);
    input.dispose();
    vm.dispose!();
  });

  it('rejects channels that are not arrays of indices', () => {
    const vm = fromLayersModel(inceptionLike());
    const input = x();
    expect(() =>
      vm.forward(input, ['cat'], {
        logits: false,
        channels: { cat: [1.5] } as unknown as Record<string, number[]>,
      }),
    ).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }) as Error);
    input.dispose();
    vm.dispose!();
  });

  it('InceptionV3 mixed4: a channel in each branch and a set spanning two', async () => {
    const vm = await zoo.inceptionV3Features({ inputSize: 75 });
    const input = tf.randomUniform([1, 75, 75, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    // mixed4 = [1x1 (0..191) | 7x7 (192..383) | 7x7dbl (384..575) | pool (576..767)].
    const pruned = vm.forward(input, ['mixed4'], { logits: false, channels: { mixed4: [97] } }).activations
      .mixed4;
    const full = vm.forward(input, ['mixed4'], { logits: false }).activations.mixed4;
    // Only channel 97 is computed: the other three branches are skipped, and the 1x1 branch's convolution makes
    // one channel.
    expect(zeroChannels(pruned).filter((c) => c !== 97)).toEqual(
      Array.from({ length: 767 }, (_, k) => (k < 97 ? k : k + 1)),
    );
    expect(zeroChannels(full).filter((c) => c >= 192).length).toBeLessThan(300);
    const read = (t: tf.Tensor) => tf.slice(t, [0, 0, 0, 97], [-1, -1, -1, 1]);
    expect(tf.tidy(() => maxAbs(read(full)))).toBeGreaterThan(0);
    expect(tf.tidy(() => maxAbsDiff(read(pruned), read(full)))).toBeLessThanOrEqual(1e-6 * maxAbs(full));
    // A channel that is alive on this input in each branch (ReLU kills some at 75 px).
    const dead = new Set(zeroChannels(full));
    const alive = [0, 192, 384, 576].map((start) => {
      let c = start + 97;
      while (dead.has(c)) c++;
      return c;
    });
    tf.dispose([pruned, full]);
    for (const c of alive) expectSameGradient(vm, input, channel('mixed4', c));
    expectSameGradient(vm, input, add(channel('mixed4', alive[1]), neuron('mixed4', alive[3], 1, 1)));
    input.dispose();
    vm.dispose!();
  }, 120_000);
});
