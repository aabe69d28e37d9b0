import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  add,
  channel,
  CnnvizError,
  layerL2,
  negate,
  neuron,
  objectiveGradient,
  type VisionModel,
} from '@cnnviz/core';
import { fromLayersModel } from './layers-model.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function seeded(k: number) {
  return tfl.initializers.randomNormal({ mean: 0, stddev: 0.5, seed: k });
}

/** Functional model with the layer kinds of MobileNetV2 / InceptionV3: merges, BN without gamma/beta, softmax head. */
function functionalModel(): tfl.LayersModel {
  const input = tfl.input({ shape: [8, 8, 3], name: 'img' });
  const c1 = tfl.layers
    .conv2d({
      name: 'c1',
      filters: 4,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: seeded(1),
      biasInitializer: seeded(2),
    })
    .apply(input) as tfl.SymbolicTensor;
  const bn = tfl.layers
    .batchNormalization({
      name: 'bn',
      center: false,
      scale: false,
      movingMeanInitializer: seeded(3),
      movingVarianceInitializer: tfl.initializers.constant({ value: 1.7 }),
    })
    .apply(c1) as tfl.SymbolicTensor;
  const dw = tfl.layers
    .depthwiseConv2d({
      name: 'dw',
      kernelSize: 3,
      padding: 'same',
      depthwiseInitializer: seeded(4),
      useBias: false,
    })
    .apply(bn) as tfl.SymbolicTensor;
  const relu6 = tfl.layers.reLU({ name: 'relu6', maxValue: 6 }).apply(dw) as tfl.SymbolicTensor;
  const add = tfl.layers.add({ name: 'add' }).apply([relu6, c1]) as tfl.SymbolicTensor;
  const pad = tfl.layers
    .zeroPadding2d({
      name: 'pad',
      padding: [
        [0, 1],
        [0, 1],
      ],
    })
    .apply(add) as tfl.SymbolicTensor;
  const c2 = tfl.layers
    .conv2d({
      name: 'c2',
      filters: 3,
      kernelSize: 3,
      strides: 2,
      padding: 'valid',
      kernelInitializer: seeded(5),
    })
    .apply(pad) as tfl.SymbolicTensor;
  const pool = tfl.layers
    .maxPooling2d({ name: 'pool', poolSize: 2, strides: 2, padding: 'same' })
    .apply(add) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ name: 'cat', axis: -1 }).apply([c2, pool]) as tfl.SymbolicTensor;
  const act = tfl.layers.activation({ name: 'tanh', activation: 'tanh' }).apply(cat) as tfl.SymbolicTensor;
  const flat = tfl.layers.flatten({ name: 'flat' }).apply(act) as tfl.SymbolicTensor;
  const drop = tfl.layers.dropout({ name: 'drop', rate: 0.5 }).apply(flat) as tfl.SymbolicTensor;
  const out = tfl.layers
    .dense({ name: 'probs', units: 5, activation: 'softmax', kernelInitializer: seeded(6) })
    .apply(drop) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: out });
}

/** Names of the kernels `fn` runs (tf.profile returns one shared object, so copy them out). */
async function kernelsOf(fn: () => void): Promise<string[]> {
  return (await tf.profile(fn)).kernels.map((k) => k.name);
}

describe('fromLayersModel', () => {
  it('matches tfjs-layers on every tapped layer and strips the softmax activation', () => {
    const m = functionalModel();
    const vm = fromLayersModel(m);
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const taps = ['c1', 'bn', 'dw', 'add', 'pad', 'c2', 'pool', 'cat', 'flat'];
    const before = tf.memory().numTensors;
    const out = vm.forward(x, taps);
    expect(tf.memory().numTensors).toBe(before + 1 + taps.length);
    const ref = tfl.model({
      inputs: m.inputs,
      outputs: taps.map((t) => m.getLayer(t).output as tfl.SymbolicTensor),
    });
    const refOut = ref.predict(x) as tf.Tensor[];
    taps.forEach((t, i) => {
      expect(out.activations[t].shape).toEqual(refOut[i].shape);
      expect(maxAbsDiff(out.activations[t], refOut[i])).toBeLessThan(1e-5);
    });
    // Softmax removed: log-probabilities equal logits minus their log-sum-exp.
    const probs = m.predict(x) as tf.Tensor2D;
    expect(tf.tidy(() => maxAbsDiff(tf.logSoftmax(out.logits), tf.log(probs)))).toBeLessThan(1e-4);
    // ...and the logits are not the probabilities.
    expect(maxAbsDiff(out.logits, probs)).toBeGreaterThan(0.1);
    tf.dispose([out.logits, ...Object.values(out.activations), probs, ...refOut]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    vm.dispose!();
  });

  it('{ logits: false } runs only up to the deepest tap: same activations, no logits, fewer kernels, no leaks', async () => {
    const vm = fromLayersModel(functionalModel());
    const x = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 8) as tf.Tensor4D;
    // 'bn' sits inside no fused chain, 'relu6' ends one, 'probs' is the output layer (softmax stripped).
    for (const taps of [['bn'], ['relu6', 'c1'], ['pool'], ['probs'], ['cat', 'probs']]) {
      const before = tf.memory().numTensors;
      const full = await kernelsOf(() => {
        const o = vm.forward(x, taps);
        tf.dispose([o.logits, ...Object.values(o.activations)]);
      });
      const early = await kernelsOf(() => {
        const o = vm.forward(x, taps, { logits: false });
        tf.dispose(Object.values(o.activations));
      });
      expect(tf.memory().numTensors).toBe(before);
      const out = vm.forward(x, taps);
      const cut = vm.forward(x, taps, { logits: false });
      expect('logits' in cut).toBe(false);
      expect(Object.keys(cut.activations).sort()).toEqual([...taps].sort());
      for (const t of taps) {
        expect(cut.activations[t].shape).toEqual(out.activations[t].shape);
        expect(cut.activations[t].dataSync()).toEqual(out.activations[t].dataSync());
      }
      expect(tf.memory().numTensors).toBe(before + 1 + 2 * taps.length);
      tf.dispose([out.logits, ...Object.values(out.activations), ...Object.values(cut.activations)]);
      expect(tf.memory().numTensors).toBe(before);
      if (taps.includes('probs')) {
        // The output tapped: everything runs either way, only the logits' copy is skipped.
        expect(early).toEqual(full.slice(0, -1));
      } else {
        // The dense head (and every layer past the tap) never runs.
        expect(early.some((k) => /MatMul/.test(k))).toBe(false);
        expect(full.some((k) => /MatMul/.test(k))).toBe(true);
        expect(early.length).toBeLessThan(full.length - 4);
      }
    }
    // Nothing tapped and no logits: nothing runs.
    const before = tf.memory().numTensors;
    const none = await kernelsOf(() => {
      expect(vm.forward(x, [], { logits: false })).toEqual({ activations: {} });
      expect(vm.forward(x, undefined, { logits: false })).toEqual({ activations: {} });
    });
    expect(none).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
    // { logits: true } and {} are the plain forward.
    const a = vm.forward(x, ['bn'], { logits: true });
    const b = vm.forward(x, ['bn'], {});
    expect(a.logits!.dataSync()).toEqual(b.logits!.dataSync());
    tf.dispose([a.logits!, a.activations.bn, b.logits!, b.activations.bn]);
    expect(() => vm.forward(x, ['bn'], null as unknown as { logits: boolean })).toThrow(/forward options/);
    expect(() => vm.forward(x, ['bnn'], { logits: false })).toThrow(CnnvizError);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    vm.dispose!();
  });

  it('objectiveGradient of an activation objective equals the one through a forward that ignores the option', () => {
    const vm = fromLayersModel(functionalModel());
    const seen: (boolean | undefined)[] = [];
    // Always runs to the logits, as every model did before ForwardOptions.
    const ignoring: VisionModel = {
      ...vm,
      forward: (x: tf.Tensor4D, taps?: string[]) => {
        seen.push(true);
        return vm.forward(x, taps);
      },
    };
    const pixels = tf.randomUniform([2, 8, 8, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    for (const obj of [
      channel('bn', 1),
      neuron('dw', 2),
      layerL2('pool'),
      add(channel('c2', 0), negate(layerL2('c1'))),
    ]) {
      const before = tf.memory().numTensors;
      const cut = objectiveGradient(vm, pixels, obj);
      const ref = objectiveGradient(ignoring, pixels, obj);
      expect(seen.pop()).toBe(true);
      expect(cut.values.dataSync()).toEqual(ref.values.dataSync());
      expect(tf.tidy(() => tf.max(tf.abs(cut.grad)).dataSync()[0])).toBeGreaterThan(0);
      expect(cut.grad.dataSync()).toEqual(ref.grad.dataSync());
      tf.dispose([cut.values, cut.grad, ref.values, ref.grad]);
      expect(tf.memory().numTensors).toBe(before);
    }
    pixels.dispose();
    vm.dispose!();
  });

  it('lists layers with kinds, shapes, kernels and inputs, without the stripped softmax', () => {
    const vm = fromLayersModel(functionalModel());
    const byName = Object.fromEntries(vm.layers.map((l) => [l.name, l]));
    expect(vm.inputShape).toEqual([8, 8, 3]);
    expect(byName.c2.kind).toBe('Conv2D');
    expect(byName.c2.outputShape).toEqual([4, 4, 3]);
    expect(byName.c2.kernel).toEqual({ size: [3, 3], strides: [2, 2], padding: 'valid', dilation: [1, 1] });
    expect(byName.pool.kernel).toEqual({ size: [2, 2], strides: [2, 2], padding: 'same' });
    expect(byName.add.inputs).toEqual(['relu6', 'c1']);
    expect(byName.cat.inputs).toEqual(['c2', 'pool']);
    expect(vm.layers[0].name).toBe('img');
    // A softmax *activation* is stripped, the layer itself stays (its logits are the model's output).
    expect(byName.probs.kind).toBe('Dense');
    vm.dispose!();
  });

  it('gradients reach the input through BatchNorm without gamma/beta (finite differences)', () => {
    const vm = fromLayersModel(functionalModel());
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
    const f = (inp: tf.Tensor) =>
      tf.tidy(() => {
        const o = vm.forward(inp as tf.Tensor4D, ['bn', 'cat']);
        return tf.add(tf.sum(tf.square(o.activations.bn)), tf.sum(o.activations.cat)) as tf.Scalar;
      });
    // The stock layer would throw here: tf.batchNorm's gradient needs scale and offset.
    const g = tf.grad(f)(x);
    const gv = g.dataSync();
    const xv = x.dataSync();
    const eps = 1e-2;
    for (const idx of [0, 37, 100, 191]) {
      const plus = Float32Array.from(xv);
      const minus = Float32Array.from(xv);
      plus[idx] += eps;
      minus[idx] -= eps;
      const fp = f(tf.tensor4d(plus, x.shape)).dataSync()[0];
      const fm = f(tf.tensor4d(minus, x.shape)).dataSync()[0];
      const fd = (fp - fm) / (2 * eps);
      expect(Math.abs(fd - gv[idx])).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
    tf.dispose([x, g]);
    vm.dispose!();
  });

  it('input gradients never compute filter gradients', () => {
    const vm = fromLayersModel(functionalModel());
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    return tf
      .profile(() => {
        const g = tf.grad((inp: tf.Tensor) => tf.sum(vm.forward(inp as tf.Tensor4D).logits) as tf.Scalar)(x);
        g.dispose();
      })
      .then((info) => {
        expect(info.kernelNames).toContain('Conv2DBackpropInput');
        expect(info.kernelNames).not.toContain('Conv2DBackpropFilter');
        expect(info.kernelNames).not.toContain('DepthwiseConv2dNativeBackpropFilter');
        x.dispose();
        vm.dispose!();
      });
  });

  it('removes a final softmax layer of a Sequential model', () => {
    const m = tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          name: 'conv',
          inputShape: [6, 6, 1],
          filters: 2,
          kernelSize: 3,
          activation: 'relu',
          kernelInitializer: seeded(9),
        }),
        tfl.layers.flatten({ name: 'flat' }),
        tfl.layers.dense({ name: 'logits', units: 4, kernelInitializer: seeded(10) }),
        tfl.layers.activation({ name: 'probs', activation: 'softmax' }),
      ],
    });
    const vm = fromLayersModel(m, { labels: ['a', 'b', 'c', 'd'] });
    expect(vm.layers.map((l) => l.name)).not.toContain('probs');
    expect(vm.labels).toEqual(['a', 'b', 'c', 'd']);
    const x = tf.randomUniform([3, 6, 6, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const { logits, activations } = vm.forward(x);
    expect(Object.keys(activations)).toEqual([]);
    const probs = m.predict(x) as tf.Tensor2D;
    const ref = tfl
      .model({ inputs: m.inputs, outputs: m.getLayer('logits').output as tfl.SymbolicTensor })
      .predict(x) as tf.Tensor;
    expect(maxAbsDiff(logits, ref)).toBeLessThan(1e-5);
    expect(maxAbsDiff(tf.logSoftmax(logits), tf.log(probs))).toBeLessThan(1e-4);
    tf.dispose([x, logits, probs, ref]);
    vm.dispose!();
  });

  it('an unknown tap throws UNKNOWN_LAYER listing close names', () => {
    const vm = fromLayersModel(functionalModel());
    const x = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    let err: unknown;
    try {
      vm.forward(x, ['c1', 'pol']);
    } catch (e) {
      err = e;
    }
    expect(CnnvizError.isInstance(err)).toBe(true);
    expect((err as CnnvizError).code).toBe('UNKNOWN_LAYER');
    expect((err as CnnvizError).message).toMatch(/pol/);
    expect((err as CnnvizError).message).toMatch(/pool/);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => vm.getWeights!('nope')).toThrow(/UNKNOWN|unknown layer/);
    x.dispose();
    vm.dispose!();
  });

  it('getWeights/setWeights change what forward computes', () => {
    const vm = fromLayersModel(functionalModel());
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const a = vm.forward(x, ['c1']).activations.c1;
    const ws = vm.getWeights!('c1');
    expect(ws.map((w) => w.shape)).toEqual([[3, 3, 3, 4], [4]]);
    vm.setWeights!('c1', [tf.zerosLike(ws[0]), tf.fill([4], 0.5)]);
    const b = vm.forward(x, ['c1']).activations.c1;
    expect(Array.from(b.dataSync()).every((v) => Math.abs(v - 0.5) < 1e-6)).toBe(true);
    vm.setWeights!('c1', ws);
    const c = vm.forward(x, ['c1']).activations.c1;
    expect(maxAbsDiff(a, c)).toBe(0);
    expect(() => vm.setWeights!('c1', [ws[0]])).toThrow(/expects 2 tensor/);
    tf.dispose([x, a, b, c, ...ws]);
    vm.dispose!();
  });

  it('preprocess maps 0..1 pixels to the declared range, differentiably', () => {
    const m = tfl.sequential({
      layers: [tfl.layers.conv2d({ inputShape: [4, 4, 3], filters: 1, kernelSize: 1 })],
    });
    const img = tf.tensor3d([0, 0.5, 1], [1, 1, 3]);
    const cases: [ConstructorParameters<typeof Object>[0], number[]][] = [
      [
        [-1, 1],
        [-1, 0, 1],
      ],
      [
        [0, 255],
        [0, 127.5, 255],
      ],
      [{ mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.5] }, [-2, 0, 1]],
    ];
    for (const [range, want] of cases) {
      const vm = fromLayersModel(m, { inputRange: range as [number, number] });
      const x = vm.preprocess(img);
      expect(x.shape).toEqual([1, 1, 1, 3]);
      expect(Array.from(x.dataSync())).toEqual(want);
      x.dispose();
    }
    expect(() => fromLayersModel(m, { inputRange: [1, 0] })).toThrow(/inputRange/);
    const vm = fromLayersModel(m);
    expect(() => vm.preprocess(tf.zeros([4, 4]) as unknown as tf.Tensor3D)).toThrow(/rank/);
    img.dispose();
    m.dispose();
  });
});

describe('fromLayersModel: layers run by cnnviz itself', () => {
  it('LayerNormalization without gamma/beta (tfjs-layers cannot differentiate it): closed form and central differences', () => {
    const input = tfl.input({ shape: [4, 4, 2] });
    const ln = tfl.layers.layerNormalization({ name: 'ln', center: false, scale: false, epsilon: 1e-3 });
    const y = ln.apply(input) as tfl.SymbolicTensor;
    const out = tfl.layers
      .dense({ name: 'out', units: 2, kernelInitializer: seeded(3) })
      .apply(tfl.layers.flatten().apply(y)) as tfl.SymbolicTensor;
    const vm = fromLayersModel(tfl.model({ inputs: input, outputs: out }));
    const x = tf.randomNormal([1, 4, 4, 2], 0, 1, 'float32', 4) as tf.Tensor4D;
    const { activations } = vm.forward(x, ['ln'], { logits: false });
    const want = tf.tidy(() => {
      const { mean, variance } = tf.moments(x, [3], true);
      return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-3)));
    });
    expect(maxAbsDiff(activations.ln, want)).toBeLessThan(1e-5);
    const f = (t: tf.Tensor) => tf.sum(tf.mul(vm.forward(t as tf.Tensor4D).logits!, tf.tensor([[1, -2]])));
    const g = tf.grad(f)(x).dataSync();
    const xs = x.dataSync();
    for (const i of [0, 5, 17, 30]) {
      const at = (d: number) => {
        const v = Float32Array.from(xs);
        v[i] += d;
        return tf.tidy(() => f(tf.tensor4d(v, [1, 4, 4, 2])).dataSync()[0]);
      };
      expect(Math.abs((at(1e-2) - at(-1e-2)) / 2e-2 - g[i])).toBeLessThan(2e-2 * Math.max(1, Math.abs(g[i])));
    }
    tf.dispose([x, want, activations.ln]);
    vm.dispose!();
  });
});
