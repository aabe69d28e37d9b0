import '@tensorflow/tfjs-backend-cpu';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError } from './errors.js';
import { withGradientOverrides } from './overrides.js';
import { deconvOverrides, deconvRelu } from './overrides/deconv-relu.js';
import {
  guidedElu,
  guidedLeakyRelu,
  guidedOverrides,
  guidedRelu,
  guidedRelu6,
} from './overrides/guided-relu.js';
import { createRng } from './random.js';

function uniform(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

/** d/dx sum(act(x) * dy): the backward pass of `act` applied to `dy`. */
function backward(act: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, dy: tf.Tensor): Float32Array {
  return tf.tidy(
    () =>
      tf
        .grad((xx: tf.Tensor) => tf.sum(tf.mul(act(xx), dy)))(x)
        .dataSync() as Float32Array,
  );
}

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b[i])));
}

describe('withGradientOverrides', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  const xs = uniform(64, 1, -3, 8);
  const dys = uniform(64, 2);

  it('guidedRelu gives (dy > 0) * (x > 0) * dy; the stock gradient returns afterwards', () => {
    const x = tf.tensor1d(xs);
    const dy = tf.tensor1d(dys);
    const before = tf.memory().numTensors;
    const guided = withGradientOverrides({ Relu: guidedRelu }, () => backward(tf.relu, x, dy));
    expect(tf.memory().numTensors).toBe(before);
    expectClose(
      guided,
      Array.from(xs, (v, i) => (dys[i] > 0 && v > 0 ? dys[i] : 0)),
      0,
    );
    const stock = backward(tf.relu, x, dy);
    expectClose(
      stock,
      Array.from(xs, (v, i) => (v > 0 ? dys[i] : 0)),
      0,
    );
    expect(guided).not.toEqual(stock);
    tf.dispose([x, dy]);
  });

  it('deconvRelu gives (dy > 0) * dy whatever x was', () => {
    const x = tf.tensor1d(xs);
    const dy = tf.tensor1d(dys);
    const g = withGradientOverrides({ Relu: deconvRelu }, () => backward(tf.relu, x, dy));
    expect(Array.from(g)).toEqual(Array.from(dys).map((d) => Math.max(d, 0)));
    tf.dispose([x, dy]);
  });

  it('guided Relu6, LeakyRelu and Elu match their definitions', () => {
    const x = tf.tensor1d(xs);
    const dy = tf.tensor1d(dys);
    const pos = (i: number) => dys[i] > 0;
    const r6 = withGradientOverrides({ Relu6: guidedRelu6 }, () => backward(tf.relu6, x, dy));
    expect(Array.from(r6)).toEqual(Array.from(xs, (v, i) => (pos(i) && v > 0 && v <= 6 ? dys[i] : 0)));
    const lr = withGradientOverrides({ LeakyRelu: guidedLeakyRelu }, () =>
      backward((t) => tf.leakyRelu(t, 0.1), x, dy),
    );
    expectClose(
      lr,
      Array.from(xs, (v, i) => (pos(i) ? (v > 0 ? 1 : 0.1) * dys[i] : 0)),
    );
    const elu = withGradientOverrides({ Elu: guidedElu }, () => backward(tf.elu, x, dy));
    expectClose(
      elu,
      Array.from(xs, (v, i) => (pos(i) ? (v > 0 ? 1 : Math.exp(v)) * dys[i] : 0)),
    );
    // Deconvnet ignores the forward pass for every ReLU-like kernel.
    const d6 = withGradientOverrides(deconvOverrides, () => backward(tf.relu6, x, dy));
    expect(Array.from(d6)).toEqual(Array.from(dys).map((d) => Math.max(d, 0)));
    tf.dispose([x, dy]);
  });

  it('restores the exact original after a sync throw and an async rejection', async () => {
    const original = tf.getGradient('Relu');
    expect(original).toBeDefined();
    expect(() =>
      withGradientOverrides({ Relu: guidedRelu }, () => {
        expect(tf.getGradient('Relu').gradFunc).toBe(guidedRelu);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(tf.getGradient('Relu')).toBe(original);

    const p = withGradientOverrides({ Relu: guidedRelu, Relu6: guidedRelu6 }, async () => {
      await new Promise((r) => setTimeout(r, 5));
      expect(tf.getGradient('Relu').gradFunc).toBe(guidedRelu);
      throw new Error('async boom');
    });
    // Still overridden while the promise is pending.
    expect(tf.getGradient('Relu').gradFunc).toBe(guidedRelu);
    await expect(p).rejects.toThrow('async boom');
    expect(tf.getGradient('Relu')).toBe(original);
    expect(tf.getGradient('Relu6').gradFunc).not.toBe(guidedRelu6);

    await expect(withGradientOverrides({ Relu: guidedRelu }, async () => 42)).resolves.toBe(42);
    expect(tf.getGradient('Relu')).toBe(original);
  });

  it('nests, also when async scopes end out of order', async () => {
    const original = tf.getGradient('Relu');
    withGradientOverrides({ Relu: guidedRelu }, () => {
      withGradientOverrides({ Relu: deconvRelu }, () => {
        expect(tf.getGradient('Relu').gradFunc).toBe(deconvRelu);
      });
      expect(tf.getGradient('Relu').gradFunc).toBe(guidedRelu);
      expect(() =>
        withGradientOverrides({ Relu: deconvRelu }, () => {
          throw new Error('inner');
        }),
      ).toThrow('inner');
      expect(tf.getGradient('Relu').gradFunc).toBe(guidedRelu);
    });
    expect(tf.getGradient('Relu')).toBe(original);

    let releaseOuter = () => {};
    const outer = withGradientOverrides(
      { Relu: guidedRelu },
      () => new Promise<void>((r) => (releaseOuter = r)),
    );
    const inner = withGradientOverrides({ Relu: deconvRelu }, () => new Promise((r) => setTimeout(r, 5)));
    expect(tf.getGradient('Relu').gradFunc).toBe(deconvRelu);
    releaseOuter();
    await outer; // the outer scope ends first: the inner override must stay
    expect(tf.getGradient('Relu').gradFunc).toBe(deconvRelu);
    await inner;
    expect(tf.getGradient('Relu')).toBe(original);
  });

  it('rejects bad overrides with BAD_OPTION and leaves the registry alone', () => {
    const original = tf.getGradient('Relu');
    let err: unknown;
    try {
      withGradientOverrides({ Relu: guidedRelu, Relu6: 42 as unknown as tf.GradFunc }, () => 1);
    } catch (e) {
      err = e;
    }
    expect(CnnvizError.isInstance(err) && err.code).toBe('BAD_OPTION');
    expect(tf.getGradient('Relu')).toBe(original);
    expect(() => withGradientOverrides({ NoSuchKernel: guidedRelu }, () => 1)).toThrow(
      /no registered gradient/,
    );
  });

  it('reaches the ReLUs of a tfjs-layers model (fused conv+relu and ReLU(maxValue 6))', () => {
    // input [4,4,1] -> conv 1x1 (3 filters, fused relu) -> conv 1x1 (2 filters) -> ReLU(max 6) -> flatten -> dense(1)
    const model = tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [4, 4, 1],
          filters: 3,
          kernelSize: 1,
          activation: 'relu',
          useBias: false,
        }),
        tfl.layers.conv2d({ filters: 2, kernelSize: 1, useBias: false }),
        tfl.layers.reLU({ maxValue: 6 }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 1, useBias: false }),
      ],
    });
    const w1 = [2, -1, 1.5]; // [1,1,1,3]
    const w2 = [1, -0.5, -1, 2, 0.5, 1]; // [1,1,3,2] row-major: w2[k*2+j]
    const wd = uniform(32, 5, -1, 1); // [32,1]
    model.layers[0].setWeights([tf.tensor4d(w1, [1, 1, 1, 3])]);
    model.layers[1].setWeights([tf.tensor4d(w2, [1, 1, 3, 2])]);
    model.layers[4].setWeights([tf.tensor2d(wd, [32, 1])]);
    const xs16 = uniform(16, 6, -2, 4);
    const x = tf.tensor4d(xs16, [1, 4, 4, 1]);
    const f = (xx: tf.Tensor) => tf.sum(model.apply(xx) as tf.Tensor) as tf.Scalar;

    // Guided backward by hand: per pixel p, z1 = x*w1, h = relu(z1), z2 = h.w2, a = min(relu(z2), 6).
    const expected = Array.from(xs16, (xv, p) => {
      const z1 = w1.map((w) => xv * w);
      const h = z1.map((z) => Math.max(z, 0));
      const z2 = [0, 1].map((j) => h.reduce((s, hk, k) => s + hk * w2[k * 2 + j], 0));
      const ga = [0, 1].map((j) => wd[p * 2 + j]);
      const gz2 = ga.map((g, j) => (g > 0 && z2[j] > 0 && z2[j] <= 6 ? g : 0));
      const gh = [0, 1, 2].map((k) => gz2.reduce((s, g, j) => s + g * w2[k * 2 + j], 0));
      const gz1 = gh.map((g, k) => (g > 0 && z1[k] > 0 ? g : 0));
      return gz1.reduce((s, g, k) => s + g * w1[k], 0);
    });
    const before = tf.memory().numTensors;
    const guided = withGradientOverrides(guidedOverrides, () => tf.tidy(() => tf.grad(f)(x).dataSync()));
    expect(tf.memory().numTensors).toBe(before);
    expectClose(guided, expected);
    const stock = tf.tidy(() => tf.grad(f)(x).dataSync());
    expect(Math.max(...Array.from(stock, (v, i) => Math.abs(v - expected[i])))).toBeGreaterThan(1e-3);
    x.dispose();
    model.dispose();
  });

  describe('GraphModel', () => {
    let model: GraphModel;
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const w1 = uniform(3 * 3 * 2 * 4, 7);
    const b1 = uniform(4, 8, -0.2, 0.2);
    const w2 = uniform(4 * 3, 9);

    beforeAll(async () => {
      const constNode = (name: string, dims: number[]) => ({
        name,
        op: 'Const',
        attr: {
          dtype: { type: 'DT_FLOAT' },
          value: {
            tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: dims.map((d) => ({ size: String(d) })) } },
          },
        },
      });
      const ints = (v: number[]) => ({ list: { i: v.map(String) } });
      // x -> _FusedConv2D(BiasAdd, Relu) -> Conv2D 1x1 -> Relu6: what the TF converter emits for such a net.
      const graph = {
        node: [
          {
            name: 'x',
            op: 'Placeholder',
            attr: {
              dtype: { type: 'DT_FLOAT' },
              shape: { shape: { dim: [{ size: '-1' }, { size: '5' }, { size: '5' }, { size: '2' }] } },
            },
          },
          constNode('w1', [3, 3, 2, 4]),
          constNode('b1', [4]),
          constNode('w2', [1, 1, 4, 3]),
          {
            name: 'conv1',
            op: '_FusedConv2D',
            input: ['x', 'w1', 'b1'],
            attr: {
              T: { type: 'DT_FLOAT' },
              strides: ints([1, 1, 1, 1]),
              dilations: ints([1, 1, 1, 1]),
              padding: { s: b64('SAME') },
              data_format: { s: b64('NHWC') },
              fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } },
              num_args: { i: '1' },
              epsilon: { f: 0 },
            },
          },
          {
            name: 'conv2',
            op: 'Conv2D',
            input: ['conv1', 'w2'],
            attr: {
              T: { type: 'DT_FLOAT' },
              strides: ints([1, 1, 1, 1]),
              dilations: ints([1, 1, 1, 1]),
              padding: { s: b64('VALID') },
              data_format: { s: b64('NHWC') },
            },
          },
          { name: 'out', op: 'Relu6', input: ['conv2'], attr: { T: { type: 'DT_FLOAT' } } },
        ],
        versions: { producer: 1 },
      };
      const weightData = new Float32Array([...w1, ...b1, ...w2]).buffer;
      model = await loadGraphModel(
        tf.io.fromMemory({
          modelTopology: graph,
          format: 'graph-model',
          weightSpecs: [
            { name: 'w1', shape: [3, 3, 2, 4], dtype: 'float32' },
            { name: 'b1', shape: [4], dtype: 'float32' },
            { name: 'w2', shape: [1, 1, 4, 3], dtype: 'float32' },
          ],
          weightData,
        }),
      );
    });

    it('guided overrides reach its Relu (from fused conv) and Relu6 nodes', () => {
      const x = tf.tensor4d(uniform(50, 10, 0, 3), [1, 5, 5, 2]);
      const r = tf.tensor4d(uniform(75, 11), [1, 5, 5, 3]);
      const viaGraph = (xx: tf.Tensor) =>
        tf.sum(tf.mul(model.execute(xx, 'out') as tf.Tensor, r)) as tf.Scalar;
      const viaOps = (xx: tf.Tensor) =>
        tf.tidy(() => {
          const h = tf.relu(
            tf.add(tf.conv2d(xx as tf.Tensor4D, tf.tensor4d(w1, [3, 3, 2, 4]), 1, 'same'), tf.tensor1d(b1)),
          );
          const y = tf.relu6(tf.conv2d(h as tf.Tensor4D, tf.tensor4d(w2, [1, 1, 4, 3]), 1, 'valid'));
          return tf.sum(tf.mul(y, r)) as tf.Scalar;
        });
      // Same forward values first, so the comparison below is about gradients.
      expectClose(
        tf.tidy(() => viaGraph(x).dataSync()),
        tf.tidy(() => viaOps(x).dataSync()),
        1e-4,
      );
      const before = tf.memory().numTensors;
      const guidedGraph = withGradientOverrides(guidedOverrides, () =>
        tf.tidy(() => tf.grad(viaGraph)(x).dataSync()),
      );
      expect(tf.memory().numTensors).toBe(before);
      const guidedOps = withGradientOverrides(guidedOverrides, () =>
        tf.tidy(() => tf.grad(viaOps)(x).dataSync()),
      );
      const stockGraph = tf.tidy(() => tf.grad(viaGraph)(x).dataSync());
      expectClose(guidedGraph, guidedOps, 1e-4);
      expect(Math.max(...Array.from(stockGraph, (v, i) => Math.abs(v - guidedGraph[i])))).toBeGreaterThan(
        1e-2,
      );
      tf.dispose([x, r]);
    });
  });
});
