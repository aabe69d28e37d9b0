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

  it("precision float16: the device has shader-f16, and cnnviz's f16 convolutions run (differ from f32 within f16's error)", async () => {
    const conv = async () => {
      const y = tf.tidy(() =>
        tf.fused.conv2d({
          x: tf.reshape<tf.Rank.R4>(tf.linspace(-1, 1, 2 * 6 * 6 * 8), [2, 6, 6, 8]),
          filter: tf.reshape<tf.Rank.R4>(tf.linspace(-0.7, 0.9, 3 * 3 * 8 * 4), [3, 3, 8, 4]),
          strides: 1,
          pad: 'same',
          activation: 'relu6',
        }),
      );
      const v = (await y.data()) as Float32Array;
      y.dispose();
      return v;
    };
    const f32 = await initBackend({ backend: 'webgpu' });
    expect(f32.precision).toBe('float32');
    const ref = await conv();
    const info = await initBackend({ backend: 'webgpu', precision: 'float16' });
    expect(info.precision).toBe('float16');
    expect(info.precisionReason).toMatch(/^shader-f16: .*\(requested by the precision option\)$/);
    const device = (tf.backend() as unknown as { device: { features: Set<string> } }).device;
    expect(device.features.has('shader-f16')).toBe(true);
    const half = await conv();
    // K = 72 products of |x|,|w| <= 1 per output: f16's bound (K + 3) 2^-11 * 72 is ~2.6; far below it in practice.
    let diff = 0;
    for (let i = 0; i < ref.length; i++) diff = Math.max(diff, Math.abs(half[i] - ref[i]));
    expect(diff).toBeGreaterThan(0);
    expect(diff).toBeLessThan(0.05);
    const back = await initBackend({ backend: 'webgpu' });
    expect(back.precision).toBe('float32');
    expect(Array.from(await conv())).toEqual(Array.from(ref));
  });
});
