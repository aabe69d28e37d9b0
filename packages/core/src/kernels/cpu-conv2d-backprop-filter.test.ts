import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerKernelFixes, unregisterKernelFixes } from './index.js';
import { randomArray, relErr, seeded } from './test-util.js';

type Pad = 'same' | 'valid';
const cases: Array<{
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: number;
  pad: Pad;
}> = [
  { x: [2, 7, 8, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' },
  { x: [2, 7, 8, 3], f: [3, 3, 3, 4], s: 1, pad: 'valid' },
  { x: [1, 9, 7, 5], f: [3, 2, 5, 6], s: 2, pad: 'same' },
  { x: [1, 9, 7, 5], f: [3, 3, 5, 6], s: 2, pad: 'valid' },
  { x: [3, 8, 8, 2], f: [5, 5, 2, 3], s: 3, pad: 'same' },
  { x: [1, 6, 6, 4], f: [1, 1, 4, 8], s: 1, pad: 'valid' },
];

function filterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, f: number[], s: number, pad: Pad): tf.Tensor {
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, {
    strides: [s, s],
    pad,
    dataFormat: 'NHWC',
    filterShape: f,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

describe('cpu Conv2DBackpropFilter fix', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each(cases)('matches the stock kernel: x $x filter $f stride $s $pad', ({ x: xs, f, s, pad }) => {
    const rng = seeded(7);
    const x = tf.tensor4d(randomArray(tf.util.sizeFromShape(xs), rng), xs);
    // ReLU-like zeros in x exercise the zero-skip path.
    const xr = tf.relu(x);
    const outShape = tf.conv2d(xr, tf.zeros(f) as tf.Tensor4D, s, pad).shape;
    const dy = tf.tensor4d(randomArray(tf.util.sizeFromShape(outShape), rng), outShape);
    unregisterKernelFixes('cpu');
    const want = filterGrad(xr, dy, f, s, pad).dataSync();
    expect(registerKernelFixes('cpu')).toContain('cpu:Conv2DBackpropFilter');
    const before = tf.memory().numTensors;
    const got = filterGrad(xr, dy, f, s, pad);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(got.shape).toEqual(f);
    expect(relErr(got.dataSync(), want)).toBeLessThan(1e-5);
    tf.dispose([x, xr, dy, got]);
  });

  it('speeds up tf.grad of conv2d w.r.t. the filter and matches finite differences', () => {
    registerKernelFixes('cpu');
    const rng = seeded(3);
    const x = tf.tensor4d(randomArray(2 * 5 * 5 * 2, rng), [2, 5, 5, 2]);
    const w = tf.tensor4d(randomArray(3 * 3 * 2 * 3, rng), [3, 3, 2, 3]);
    const loss = (ww: tf.Tensor) =>
      tf.sum(tf.square(tf.conv2d(x, ww as tf.Tensor4D, 1, 'same'))) as tf.Scalar;
    const g = tf.grad(loss)(w).dataSync();
    const wv = w.dataSync();
    const eps = 1e-2;
    for (const i of [0, 7, 20, 53]) {
      const p = wv.slice();
      const m = wv.slice();
      p[i] += eps;
      m[i] -= eps;
      const fd =
        (loss(tf.tensor4d(p, w.shape)).dataSync()[0] - loss(tf.tensor4d(m, w.shape)).dataSync()[0]) /
        (2 * eps);
      expect(Math.abs(fd - g[i])).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
  });
});
