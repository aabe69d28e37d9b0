// Backend selection runs here in Node, where no browser GPU exists: WebGPU and WebGL must be
// skipped with their reasons and WASM chosen. The browser paths (WebGL, WebGPU) are covered by
// the playground's end-to-end tests in Chromium (examples/playground/src/e2e).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CnnvizError, unregisterKernelFixes, registerKernelFixes, selfTest } from '@cnnviz/core';
import { backendInfo, initBackend } from './backend.js';

const wasmDir = `${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`;

describe('initBackend outside a browser', () => {
  it('reports the TF.js default before it runs', () => {
    expect(backendInfo().reason).toMatch(/initBackend\(\) has not run/);
  });

  it('skips WebGPU and WebGL with reasons, and picks WASM with its kernel fixes', async () => {
    const info = await initBackend({ wasmPaths: wasmDir });
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.tried.map((t) => [t.name, t.ok])).toEqual([
      ['webgpu', false],
      ['webgl', false],
      ['wasm', true],
    ]);
    expect(info.tried[0].why).toMatch(/navigator\.gpu/);
    expect(info.tried[1].why).toMatch(/canvas/);
    expect(info.tried[2].why).toMatch(/match the closed form/);
    expect(info.reason).toMatch(/^wasm: fastest available backend.*Skipped: webgpu: .*; webgl: /);
    expect(info.fixes).toContain('wasm:MaxPoolGrad');
    expect(backendInfo()).toBe(info);
  });

  it('precision: float16 outside WebGPU falls back to float32 with the reason, or throws when strict; bad values BAD_OPTION', async () => {
    const info = await initBackend({ wasmPaths: wasmDir, precision: 'float16', selfTest: false });
    expect(info.name).toBe('wasm');
    expect(info.precision).toBe('float32');
    expect(info.precisionReason).toMatch(/^float16 requested, but backend "wasm" has no half-precision path/);
    const plain = await initBackend({ wasmPaths: wasmDir, selfTest: false });
    expect([plain.precision, plain.precisionReason]).toEqual(['float32', 'float32 (the default)']);
    await expect(
      initBackend({ wasmPaths: wasmDir, precision: 'float16', strict: true, selfTest: false }),
    ).rejects.toMatchObject({ code: 'BACKEND' });
    await expect(initBackend({ precision: 'f16' as 'float16' })).rejects.toMatchObject({
      code: 'BAD_OPTION',
      message: "the precision option must be 'float32' or 'float16', got \"f16\"",
    });
  });

  it('falls back from a missing requested backend, or throws BACKEND when strict', async () => {
    const info = await initBackend({ backend: 'webgl', wasmPaths: wasmDir });
    expect(info.name).toBe('wasm');
    expect(info.reason).toMatch(/requested "webgl" failed; fell back/);
    const err = await initBackend({ backend: 'webgl', strict: true }).catch((e: unknown) => e);
    expect(CnnvizError.isInstance(err) && err.code).toBe('BACKEND');
    expect((err as Error).message).toMatch(/"webgl" requested, strict.*webgl: /);
    const cpu = await initBackend({ backend: 'cpu' });
    expect(cpu.name).toBe('cpu');
    expect(cpu.reason).toMatch(/^cpu: requested by the backend option/);
  });

  it('rejects bad options with BAD_OPTION', async () => {
    await expect(initBackend({ threads: 0 })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });

  it('self-test fails on missing and on wrong gradient kernels (stock WASM), passes with the fixes', async () => {
    await initBackend({ backend: 'wasm', wasmPaths: wasmDir });
    let stockMaxPoolGrad: tf.KernelConfig | undefined;
    try {
      unregisterKernelFixes('wasm');
      stockMaxPoolGrad = tf.getKernel('MaxPoolGrad', 'wasm');
      // (A gradient kernel that throws leaks the tape's saved tensors inside tfjs-core's engine:
      // acceptable for a backend that is then rejected.)
      const stock = await selfTest();
      expect(stock.ok).toBe(false);
      expect(stock.why).toMatch(/DepthwiseConv2dNativeBackpropInput' not registered/);
      registerKernelFixes('wasm');
      // Only MaxPoolGrad stock: it sends the gradient of windows with a negative max to the wrong place.
      tf.unregisterKernel('MaxPoolGrad', 'wasm');
      tf.registerKernel(stockMaxPoolGrad!);
      const before = tf.memory().numTensors;
      const wrong = await selfTest();
      expect(wrong.ok).toBe(false);
      expect(tf.memory().numTensors).toBe(before);
      expect(wrong.why).toMatch(/^(gradient|guided gradient) differs from the closed form/);
    } finally {
      unregisterKernelFixes('wasm');
      registerKernelFixes('wasm');
    }
    const tensors = tf.memory().numTensors;
    const fixed = await selfTest();
    expect(fixed.ok).toBe(true);
    expect(fixed.maxError).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(tensors);
  });
});
