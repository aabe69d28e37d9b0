import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError } from './errors.js';
import { objectiveGradient, valueAndGradient } from './gradients.js';
import * as kernels from './kernels/index.js';
import { add, channel, classLogit, negate, scale, type Objective } from './objectives.js';
import { createRng } from './random.js';
import type { ForwardOptions, ForwardResult, TapsResult, VisionModel } from './types.js';

type F = (x: tf.Tensor) => tf.Scalar;

function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

/** Central differences, reading f in float64 and using the exact float32 step taken. */
function numericGradient(f: F, x0: Float32Array, shape: number[], eps: number): Float64Array {
  const g = new Float64Array(x0.length);
  const evalAt = (v: Float32Array) => tf.tidy(() => f(tf.tensor(v, shape)).dataSync()[0]);
  for (let i = 0; i < x0.length; i++) {
    const xp = x0.slice();
    const xm = x0.slice();
    xp[i] = x0[i] + eps;
    xm[i] = x0[i] - eps;
    g[i] = (evalAt(xp) - evalAt(xm)) / (xp[i] - xm[i]);
  }
  return g;
}

function relNormErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
}

/** Quadratic readout <y, r> + |y|^2 / 2: central differences are exact for a piecewise-linear net. */
function readout(y: tf.Tensor, seed: number): tf.Scalar {
  const r = tf.tensor(uniform(y.size, seed), y.shape);
  return tf.add(tf.sum(tf.mul(y, r)), tf.mul(0.5, tf.sum(tf.square(y)))) as tf.Scalar;
}

/** Values spaced 0.37 apart in shuffled order, so a step of 0.1 never changes a max-pool argmax. */
function spacedValues(n: number, seed: number, offset: number): Float32Array {
  const v = Float32Array.from({ length: n }, (_, i) => offset + 0.37 * i);
  const rng = createRng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return v;
}

interface Case {
  name: string;
  shape: number[];
  x: () => Float32Array;
  f: F;
  eps: number;
}

// Weights are made inside each function call so they live on the backend under test and are freed by its tidy.
const convW = () => tf.tensor4d(uniform(3 * 3 * 2 * 3, 11), [3, 3, 2, 3]);
const dwW = () => tf.tensor4d(uniform(3 * 3 * 3 * 2, 12), [3, 3, 3, 2]);
const w1 = () => tf.tensor2d(uniform(5 * 7, 13), [5, 7]);
const b1 = () => tf.tensor1d(uniform(7, 14));
const w2 = () => tf.tensor2d(uniform(7 * 3, 15), [7, 3]);

const cases: Case[] = [
  {
    name: 'conv2d stride 1 same',
    shape: [1, 5, 5, 2],
    x: () => uniform(50, 1),
    f: (x) => readout(tf.conv2d(x as tf.Tensor4D, convW(), 1, 'same'), 2),
    eps: 0.25,
  },
  {
    name: 'conv2d stride 2 valid',
    shape: [2, 6, 5, 2],
    x: () => uniform(120, 3),
    f: (x) => readout(tf.conv2d(x as tf.Tensor4D, convW(), 2, 'valid'), 4),
    eps: 0.25,
  },
  {
    name: 'max-pool 2x2 stride 2, channel 0 all negative',
    shape: [1, 4, 4, 2],
    // Channel 0 negative everywhere (every window's max is negative), channel 1 mixed.
    x: () => {
      const neg = spacedValues(16, 5, -7);
      const mixed = spacedValues(16, 6, -3);
      return Float32Array.from({ length: 32 }, (_, i) => (i % 2 === 0 ? neg[i >> 1] : mixed[i >> 1]));
    },
    f: (x) => readout(tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'), 7),
    eps: 0.1,
  },
  {
    name: 'max-pool 3x3 stride 2 same (overlapping windows), all negative',
    shape: [1, 5, 5, 1],
    x: () => spacedValues(25, 8, -10),
    f: (x) => readout(tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'), 9),
    eps: 0.1,
  },
  {
    name: 'depthwise conv2d multiplier 2',
    shape: [1, 5, 5, 3],
    x: () => uniform(75, 10),
    f: (x) => readout(tf.depthwiseConv2d(x as tf.Tensor4D, dwW(), 1, 'same'), 16),
    eps: 0.25,
  },
  {
    name: 'dense-tanh-dense stack',
    shape: [2, 5],
    x: () => uniform(10, 17),
    f: (x) => readout(tf.matMul(tf.tanh(tf.add(tf.matMul(x as tf.Tensor2D, w1()), b1())), w2()), 18),
    eps: 1e-2,
  },
];

describe.each(['cpu', 'wasm'])('valueAndGradient vs central differences on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
    kernels.registerKernelFixes(backend);
  });

  it.each(cases)('$name', ({ shape, x, f, eps }) => {
    const x0 = x();
    const xt = tf.tensor(x0, shape);
    const before = tf.memory().numTensors;
    const { value, grad } = valueAndGradient(f, xt);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(value.dataSync()[0]).toBeCloseTo(tf.tidy(() => f(xt)).dataSync()[0], 4);
    const analytic = grad.dataSync();
    tf.dispose([value, grad, xt]);
    const numeric = numericGradient(f, x0, shape, eps);
    expect(relNormErr(analytic, numeric)).toBeLessThan(1e-3);
  });
});

describe('objectiveGradient', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    filter = tf.tensor4d(uniform(3 * 3 * 3 * 4, 21), [3, 3, 3, 4]);
  });

  // A tiny fully convolutional "model": preprocess 2x-1, conv 3x3 -> relu taps "conv", logits = spatial mean.
  let filter: tf.Tensor4D;
  const model: VisionModel = {
    inputShape: [null, null, 3],
    layers: [{ name: 'conv', kind: 'Conv2D', outputShape: [null, null, 4] }],
    preprocess: (img) =>
      tf.tidy(() => tf.sub(tf.mul(img.rank === 3 ? tf.expandDims(img, 0) : img, 2), 1) as tf.Tensor4D),
    forward(x, taps = []): ForwardResult {
      for (const t of taps) {
        if (t !== 'conv') throw new CnnvizError('UNKNOWN_LAYER', `unknown layer "${t}"`);
      }
      const conv = tf.tanh(tf.conv2d(x, filter, 1, 'same'));
      return { logits: tf.mean(conv, [1, 2]) as tf.Tensor2D, activations: taps.length ? { conv } : {} };
    },
  };

  afterAll(() => filter.dispose());

  it('gives each batch item the gradient of its own value w.r.t. pixels (preprocess included)', () => {
    const shape = [2, 4, 4, 3];
    const x0 = uniform(96, 22, 0, 1);
    const pixels = tf.tensor4d(x0, shape as [number, number, number, number]);
    const obj = channel('conv', 2);
    const before = tf.memory().numTensors;
    const { values, grad } = objectiveGradient(model, pixels, obj);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(values.shape).toEqual([2]);
    expect(grad.shape).toEqual(shape);
    const v = values.dataSync();
    const g = grad.dataSync();
    tf.dispose([values, grad]);

    const size = 48;
    for (let n = 0; n < 2; n++) {
      // Value n alone, as a function of item n's pixels.
      const item = x0.slice(n * size, (n + 1) * size);
      const fItem: F = (x) => {
        const out = model.forward(model.preprocess(x as tf.Tensor4D), obj.taps);
        return tf.sum(obj.evaluate(out)) as tf.Scalar;
      };
      const direct = tf.tidy(() => fItem(tf.tensor(item, [1, 4, 4, 3])).dataSync()[0]);
      expect(v[n]).toBeCloseTo(direct, 5);
      const numeric = numericGradient(fItem, item, [1, 4, 4, 3], 1e-2);
      expect(relNormErr(g.subarray(n * size, (n + 1) * size), numeric)).toBeLessThan(1e-3);
    }
    pixels.dispose();
  });

  it('frees everything when the objective is bad or the layer unknown', () => {
    const pixels = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const badShape: Objective = {
      taps: [],
      name: 'bad',
      evaluate: (out) => tf.sum(out.logits) as unknown as tf.Tensor1D,
    };
    expect(() => objectiveGradient(model, pixels, badShape)).toThrow(/one value per batch item/);
    expect(() => objectiveGradient(model, pixels, channel('nope', 0))).toThrow(/unknown layer/);
    expect(() => objectiveGradient(model, pixels, channel('conv', 4))).toThrow(/4 channels/);
    expect(tf.memory().numTensors).toBe(before);
    pixels.dispose();
  });

  it('asks for logits only when the objective needs them; a model that leaves them out gives the same gradient', () => {
    const seen: (boolean | undefined)[] = [];
    // Honours { logits: false } (returns no logits); otherwise the same model as above.
    function forward(x: tf.Tensor4D, taps?: string[]): ForwardResult;
    function forward(x: tf.Tensor4D, taps: string[] | undefined, options: ForwardOptions): TapsResult;
    function forward(x: tf.Tensor4D, taps: string[] = [], options: ForwardOptions = {}): TapsResult {
      seen.push(options.logits);
      const out = model.forward(x, taps);
      if (options.logits !== false) return out;
      out.logits.dispose();
      return { activations: out.activations };
    }
    const honouring: VisionModel = { ...model, forward };
    const pixels = tf.tensor4d(uniform(96, 23, 0, 1), [2, 4, 4, 3]);
    for (const obj of [channel('conv', 1), negate(scale(channel('conv', 3), 2))]) {
      const before = tf.memory().numTensors;
      const a = objectiveGradient(honouring, pixels, obj);
      const b = objectiveGradient(model, pixels, obj);
      expect(seen.pop()).toBe(false);
      expect(a.values.dataSync()).toEqual(b.values.dataSync());
      expect(a.grad.dataSync()).toEqual(b.grad.dataSync());
      tf.dispose([a.values, a.grad, b.values, b.grad]);
      expect(tf.memory().numTensors).toBe(before);
    }
    for (const obj of [classLogit(1), add(channel('conv', 0), classLogit(2))]) {
      const r = objectiveGradient(honouring, pixels, obj);
      expect(seen.pop()).toBe(true);
      expect(tf.tidy(() => tf.max(tf.abs(r.grad)).dataSync()[0])).toBeGreaterThan(0);
      tf.dispose([r.values, r.grad]);
    }
    // A user objective that does not say reads logits, so they are computed for it.
    const user: Objective = {
      taps: [],
      name: 'user',
      evaluate: (out) => tf.sum(out.logits, 1) as tf.Tensor1D,
    };
    const r = objectiveGradient(honouring, pixels, user);
    expect(seen.pop()).toBe(true);
    tf.dispose([r.values, r.grad, pixels]);
  });

  it('rejects a non-batch image', () => {
    const img = tf.zeros([4, 4, 3]);
    let err: unknown;
    try {
      objectiveGradient(model, img as unknown as tf.Tensor4D, channel('conv', 0));
    } catch (e) {
      err = e;
    }
    expect(CnnvizError.isInstance(err) && err.code).toBe('BAD_IMAGE');
    img.dispose();
  });
});
