import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernelFixNames, registerKernelFixes, unregisterKernelFixes } from './index.js';
import { isFixInstalled } from './registry.js';
import { setupBackends } from './test-backends.js';
import { randomArray, relErr, seeded } from './test-util.js';

describe('registerKernelFixes', () => {
  beforeAll(setupBackends);

  it('is idempotent, reports what it installed and can be undone', () => {
    const names = kernelFixNames('wasm');
    expect(names).toEqual(
      expect.arrayContaining([
        'wasm:MaxPoolGrad',
        'wasm:Conv2DBackpropFilter',
        'wasm:Conv2DBackpropInput',
        'wasm:DepthwiseConv2dNativeBackpropInput',
        'wasm:DepthwiseConv2dNativeBackpropFilter',
        'wasm:UnsortedSegmentSum',
      ]),
    );
    expect(registerKernelFixes('wasm')).toEqual(names);
    const installed = tf.getKernel('MaxPoolGrad', 'wasm');
    expect(registerKernelFixes('wasm')).toEqual(names);
    expect(tf.getKernel('MaxPoolGrad', 'wasm')).toBe(installed);
    expect(unregisterKernelFixes('wasm')).toEqual(names);
    expect(isFixInstalled('MaxPoolGrad', 'wasm')).toBe(false);
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
    expect(unregisterKernelFixes('wasm')).toEqual([]);
    expect(registerKernelFixes('wasm')).toEqual(names);
    expect(isFixInstalled('MaxPoolGrad', 'wasm')).toBe(true);
    expect(registerKernelFixes('webgl')).toEqual([]);
    expect(registerKernelFixes('cpu')).toEqual([
      'cpu:Conv2DBackpropFilter',
      'cpu:CnnvizOutputMask',
      'cpu:CnnvizRoll',
    ]);
    unregisterKernelFixes('cpu');
  });
});

/** A small net with every fixed kernel on its gradient path: fused conv (linear), max-pool of negative values,
 * depthwise conv (stride 2, multiplier 2), conv, dense, and a `gather` of two logits. */
function net(
  x: tf.Tensor,
  w1: tf.Tensor,
  b1: tf.Tensor,
  dw: tf.Tensor,
  w2: tf.Tensor,
  wd: tf.Tensor,
): tf.Scalar {
  let h = tf.fused.conv2d({
    x: x as tf.Tensor4D,
    filter: w1 as tf.Tensor4D,
    strides: 1,
    pad: 'same',
    bias: b1,
  });
  h = tf.maxPool(h, 3, 2, 'same');
  h = tf.relu(h);
  h = tf.depthwiseConv2d(h, dw as tf.Tensor4D, 2, 'same');
  h = tf.relu6(h);
  h = tf.conv2d(h, w2 as tf.Tensor4D, 1, 'valid');
  const logits = tf.matMul(tf.reshape(h, [h.shape[0], -1]), wd as tf.Tensor2D);
  return tf.sum(tf.gather(logits, [3, 1], 1));
}

describe('gradients through a small net on wasm with fixes', () => {
  beforeAll(setupBackends);

  it('match cpu for the input and every weight, without leaks', async () => {
    const shapes = [[2, 16, 16, 3], [3, 3, 3, 4], [4], [3, 3, 4, 2], [3, 3, 8, 5], [2 * 2 * 5, 6]];
    const values = shapes.map((s, i) => randomArray(tf.util.sizeFromShape(s), seeded(100 + i)));
    // Shift the conv bias down so that many max-pool windows see only negative values.
    values[2] = values[2].map((v) => v - 2);
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      const ts = shapes.map((s, i) => tf.tensor(values[i], s));
      const before = tf.memory().numTensors;
      const gs = tf.grads((...a: tf.Tensor[]) => net(a[0], a[1], a[2], a[3], a[4], a[5]))(ts);
      expect(tf.memory().numTensors).toBe(before + gs.length);
      const out = gs.map((g) => g.dataSync().slice());
      tf.dispose([...ts, ...gs]);
      return out;
    };
    unregisterKernelFixes('cpu');
    const want = await grads('cpu');
    const got = await grads('wasm');
    for (let i = 0; i < want.length; i++) {
      expect(want[i].some((v) => v !== 0)).toBe(true);
      expect(relErr(got[i], want[i])).toBeLessThan(1e-4);
    }
    // Stock wasm cannot do it at all (no Conv2DBackpropFilter, no depthwise gradients, no UnsortedSegmentSum).
    unregisterKernelFixes('wasm');
    try {
      await expect(grads('wasm')).rejects.toThrow(/not registered/);
    } finally {
      registerKernelFixes('wasm');
    }
  });
});
