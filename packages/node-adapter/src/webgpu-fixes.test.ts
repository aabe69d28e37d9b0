import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { counterNormal, describeGpuAdapter, fusedInputOnlyConv2d, kernelFixNames } from '@cnnviz/core';
import { initBackend } from './backend.js';
import { probeDawn } from './webgpu.js';
import { describeNeeding, WEBGPU_IN_NODE } from '../../core/src/test-support/needs.js';

// initBackend({ backend: 'webgpu' }) is all a user writes: it must leave cnnviz's webgpu kernels installed, so the
// fused input-only convolution and the on-GPU noise run as cnnviz kernels. Needs Dawn plus a Vulkan driver
// (lavapipe in CI); skipped only where no adapter can be created.
const probe = await probeDawn();
const need = {
  ...WEBGPU_IN_NODE,
  ok: probe.ok,
  why: probe.ok ? describeGpuAdapter(probe.adapter) : probe.why,
};

describeNeeding(need, 'initBackend on webgpu installs and uses cnnviz webgpu kernels', () => {
  it('reports every webgpu fix, and the kernels run (closed-form checks)', async () => {
    const info = await initBackend({ backend: 'webgpu' });
    expect(info.name).toBe('webgpu');
    expect(info.fixes).toEqual(kernelFixNames('webgpu'));
    expect(info.fixes.length).toBeGreaterThanOrEqual(6);
    for (const name of info.fixes) expect(tf.getKernel(name.replace('webgpu:', ''), 'webgpu')).toBeTruthy();

    // d/dx sum(relu6(conv1x1(x) + b)) for a 1x1 conv with weight 2 and bias 1: 2 where 0 < 2x+1 < 6, else 0.
    const x = tf.tensor4d([-1, 0, 1, 2, 3], [1, 1, 5, 1]);
    const w = tf.tensor4d([2], [1, 1, 1, 1]);
    const b = tf.tensor1d([1]);
    const g = tf.grad((t: tf.Tensor) =>
      tf.sum(fusedInputOnlyConv2d(t as tf.Tensor4D, w, { bias: b, pad: 'valid', activation: 'relu6' })),
    )(x);
    expect(Array.from(await g.data())).toEqual([0, 2, 2, 2, 0]);

    // N(0,1) drawn on the GPU: mean ~0, variance ~1 over 64k values.
    const n = counterNormal([256, 256], 5);
    const v = (await n.data()) as Float32Array;
    const mean = v.reduce((a, c) => a + c, 0) / v.length;
    const variance = v.reduce((a, c) => a + (c - mean) ** 2, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    tf.dispose([x, w, b, g, n]);
  });
});
