import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { describeGpuAdapter } from '@cnnviz/core';
import { initBackend } from './backend.js';
import { probeDawn } from './webgpu.js';
import { describeNeeding, WEBGPU_IN_NODE } from '../../core/src/test-support/needs.js';

// Needs Dawn plus a Vulkan driver (lavapipe from Mesa 25 here; see GPU.md); skipped elsewhere.
const probe = await probeDawn();
const need = {
  ...WEBGPU_IN_NODE,
  ok: probe.ok,
  why: probe.ok ? describeGpuAdapter(probe.adapter) : probe.why,
};

describeNeeding(need, 'webgpu through Dawn', () => {
  it('reports the adapter, and flags software renderers', () => {
    if (!probe.ok) return;
    expect(probe.adapter.vendor.length + probe.adapter.description.length).toBeGreaterThan(0);
    if (/llvmpipe|lavapipe|swiftshader/i.test(probe.adapter.description))
      expect(probe.adapter.software).toBe(true);
  });

  it('runs stock tfjs-backend-webgpu when asked by name (software adapter allowed) and passes the self-test', async () => {
    const info = await initBackend({ backend: 'webgpu' });
    expect(info.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.adapter).toMatchObject({
      isFallbackAdapter: expect.any(Boolean),
      architecture: expect.any(String),
    });
    expect(info.tried).toEqual([
      { name: 'webgpu (Dawn)', ok: true, why: expect.stringMatching(/match the closed form/) },
    ]);
    expect(info.reason).toMatch(/^webgpu \(Dawn\): requested by the backend option/);
    // A forward op reads back correctly through the async path.
    const y = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])));
    expect(Array.from(await y.data())).toEqual([19, 22, 43, 50]);
    y.dispose();
  });
});
