import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError } from '../errors.js';
import { type ConvActivation, inputOnlyConv2d, inputOnlyDepthwiseConv2d } from './input-only-conv.js';
import { randomArray, relErr, seeded } from './test-util.js';

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomArray(tf.util.sizeFromShape(shape), seeded(seed)), shape);
}

const cases: Array<{ s: number; pad: 'same' | 'valid'; act: 'linear' | 'relu' | 'relu6' }> = [
  { s: 1, pad: 'same', act: 'relu' },
  { s: 2, pad: 'same', act: 'relu6' },
  { s: 2, pad: 'valid', act: 'linear' },
  { s: 1, pad: 'valid', act: 'relu' },
];

describe('inputOnlyConv2d', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(cases)(
    'forward and input gradient match tf.fused.conv2d: stride $s $pad $act',
    ({ s, pad, act }) => {
      const x = rand([2, 9, 8, 3], 1) as tf.Tensor4D;
      const w = rand([3, 3, 3, 5], 2) as tf.Tensor4D;
      const bias = rand([5], 3) as tf.Tensor1D;
      const weights = rand([2, ...tf.conv2d(x, w, s, pad).shape.slice(1)], 4);
      const fused = (t: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.fused.conv2d({ x: t as tf.Tensor4D, filter: w, strides: s, pad, bias, activation: act }),
            weights,
          ),
        );
      const ours = (t: tf.Tensor) =>
        tf.sum(
          tf.mul(inputOnlyConv2d(t as tf.Tensor4D, w, { strides: s, pad, bias, activation: act }), weights),
        );
      expect(relErr(ours(x).dataSync(), fused(x).dataSync())).toBeLessThan(1e-5);
      const want = tf.grad(fused)(x);
      const before = tf.memory().numTensors;
      const got = tf.grad(ours)(x);
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(relErr(got.dataSync(), want.dataSync())).toBeLessThan(1e-5);
      tf.dispose([x, w, bias, weights, want, got]);
    },
  );

  it('never runs the filter-gradient kernel (the fused op does)', async () => {
    const x = rand([1, 8, 8, 3], 1) as tf.Tensor4D;
    const w = rand([3, 3, 3, 4], 2) as tf.Tensor4D;
    const bias = rand([4], 3) as tf.Tensor1D;
    const kernelsOf = async (f: (t: tf.Tensor) => tf.Tensor) => {
      const info = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(f(t)))(x));
      return info.kernelNames;
    };
    // Under tf.grad, tfjs fuses only linear activations (others run unfused), so 'linear' shows the problem.
    const ours = await kernelsOf((t) =>
      inputOnlyConv2d(t as tf.Tensor4D, w, { strides: 1, pad: 'same', bias }),
    );
    const fused = await kernelsOf((t) =>
      tf.fused.conv2d({
        x: t as tf.Tensor4D,
        filter: w,
        strides: 1,
        pad: 'same',
        bias,
        activation: 'linear',
      }),
    );
    expect(ours).toContain('Conv2DBackpropInput');
    expect(ours).not.toContain('Conv2DBackpropFilter');
    expect(fused).toContain('Conv2DBackpropFilter');
    tf.dispose([x, w, bias]);
  });

  it('dilated conv: forward matches tf.conv2d and the input gradient matches finite differences', () => {
    for (const pad of ['same', 'valid'] as const) {
      const x = rand([1, 9, 10, 2], 5) as tf.Tensor4D;
      const w = rand([3, 3, 2, 3], 6) as tf.Tensor4D;
      const y = inputOnlyConv2d(x, w, { strides: 1, pad, dilations: 2 });
      const ref = tf.conv2d(x, w, 1, pad, 'NHWC', 2);
      expect(y.shape).toEqual(ref.shape);
      expect(relErr(y.dataSync(), ref.dataSync())).toBeLessThan(1e-5);
      const weights = rand(ref.shape, 7);
      const f = (t: tf.Tensor) =>
        tf.sum(tf.mul(inputOnlyConv2d(t as tf.Tensor4D, w, { strides: 1, pad, dilations: 2 }), weights));
      const g = tf.grad(f)(x).dataSync();
      const xv = x.dataSync();
      // The objective is linear in x, so central differences are exact up to float rounding.
      for (const i of [0, 13, 57, 101, 179]) {
        const p = xv.slice();
        const m = xv.slice();
        p[i] += 0.5;
        m[i] -= 0.5;
        const fd = f(tf.tensor4d(p, x.shape)).dataSync()[0] - f(tf.tensor4d(m, x.shape)).dataSync()[0];
        expect(Math.abs(fd - g[i])).toBeLessThan(1e-3 * Math.max(1, Math.abs(fd)));
      }
    }
  });

  it('rejects bad options with BAD_OPTION', () => {
    const x = tf.zeros([1, 4, 4, 1]) as tf.Tensor4D;
    const w = tf.zeros([2, 2, 1, 1]) as tf.Tensor4D;
    const bad = [
      () => inputOnlyConv2d(x, w, { strides: 1, pad: 'same', activation: 'swish' as ConvActivation }),
      () => inputOnlyConv2d(x, w, { strides: 0, pad: 'same' }),
      () => inputOnlyConv2d(x, w, { strides: 2, pad: 'same', dilations: 2 }),
    ];
    for (const f of bad) {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect(CnnvizError.isInstance(e) && e.code).toBe('BAD_OPTION');
      }
    }
    tf.dispose([x, w]);
  });
});

describe('inputOnlyDepthwiseConv2d', () => {
  it.each(cases)(
    'forward and input gradient match tf.fused.depthwiseConv2d: stride $s $pad $act',
    ({ s, pad, act }) => {
      const x = rand([2, 9, 8, 3], 1) as tf.Tensor4D;
      const w = rand([3, 3, 3, 2], 2) as tf.Tensor4D;
      const bias = rand([6], 3) as tf.Tensor1D;
      const weights = rand([2, ...tf.depthwiseConv2d(x, w, s, pad).shape.slice(1)], 4);
      const fused = (t: tf.Tensor) =>
        tf.sum(
          tf.mul(
            tf.fused.depthwiseConv2d({
              x: t as tf.Tensor4D,
              filter: w,
              strides: s,
              pad,
              bias,
              activation: act,
            }),
            weights,
          ),
        );
      const ours = (t: tf.Tensor) =>
        tf.sum(
          tf.mul(
            inputOnlyDepthwiseConv2d(t as tf.Tensor4D, w, { strides: s, pad, bias, activation: act }),
            weights,
          ),
        );
      expect(relErr(ours(x).dataSync(), fused(x).dataSync())).toBeLessThan(1e-5);
      const want = tf.grad(fused)(x);
      const got = tf.grad(ours)(x);
      expect(relErr(got.dataSync(), want.dataSync())).toBeLessThan(1e-5);
      tf.dispose([x, w, bias, weights, want, got]);
    },
  );

  it('dilated depthwise forward matches tf.depthwiseConv2d', () => {
    const x = rand([1, 9, 10, 2], 5) as tf.Tensor4D;
    const w = rand([3, 3, 2, 1], 6) as tf.Tensor4D;
    const y = inputOnlyDepthwiseConv2d(x, w, { strides: 1, pad: 'same', dilations: [2, 3] });
    const ref = tf.depthwiseConv2d(x, w, 1, 'same', 'NHWC', [2, 3]);
    expect(relErr(y.dataSync(), ref.dataSync())).toBeLessThan(1e-5);
  });
});
