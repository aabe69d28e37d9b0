import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { kernelFixNames, registerKernelFixes, unregisterKernelFixes, selfTest } from '@cnnviz/core';
import { afterEach, describe, expect, it } from 'vitest';
import { backendInfo, initBackend } from './backend.js';

afterEach(() => {
  delete process.env.CNNVIZ_BACKEND;
  delete process.env.CNNVIZ_PRECISION;
});

describe('initBackend', () => {
  it('before initBackend, backendInfo says it has not run', () => {
    const info = backendInfo();
    expect(info.reason).toMatch(/has not run/);
    expect(info.tried).toEqual([]);
  });

  it('picks wasm here: no tfjs-node, and a software WebGPU adapter is skipped', async () => {
    const info = await initBackend();
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(backendInfo()).toBe(info);
    const names = info.tried.map((t) => t.name);
    expect(names).toEqual(['tensorflow (tfjs-node-gpu)', 'webgpu (Dawn)', 'tensorflow (tfjs-node)', 'wasm']);
    expect(info.tried.slice(0, 3).every((t) => !t.ok)).toBe(true);
    expect(info.tried[0].why).toBe('@tensorflow/tfjs-node-gpu is not installed');
    expect(info.tried[2].why).toBe('@tensorflow/tfjs-node is not installed');
    expect(info.fixes).toEqual(kernelFixNames('wasm'));
    expect(info.tried[3]).toMatchObject({ ok: true, why: expect.stringMatching(/match the closed form/) });
    expect(info.reason).toMatch(/^wasm: fastest available backend/);
    // The threaded WASM build runs: one thread per core here (at most 8).
    expect(info.threads).toBe(Math.min(os.availableParallelism(), 8));
    // The global navigator.gpu installed for the probe is removed again when WebGPU is not used.
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
  });

  it('CNNVIZ_BACKEND=cpu overrides the order and installs the cpu fixes', async () => {
    process.env.CNNVIZ_BACKEND = 'cpu';
    const info = await initBackend();
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.tried).toHaveLength(1);
    expect(info.reason).toMatch(/^cpu: requested by CNNVIZ_BACKEND/);
    expect(info.fixes).toEqual(kernelFixNames('cpu'));
  });

  it('the backend option beats CNNVIZ_BACKEND', async () => {
    process.env.CNNVIZ_BACKEND = 'cpu';
    const info = await initBackend({ backend: 'wasm' });
    expect(info.name).toBe('wasm');
    expect(info.reason).toMatch(/requested by the backend option/);
  });

  it('an unknown backend name falls through to the automatic order, and says so', async () => {
    process.env.CNNVIZ_BACKEND = 'nonexistent';
    const info = await initBackend();
    expect(info.name).toBe('wasm');
    expect(info.tried[0]).toEqual({
      name: 'nonexistent',
      ok: false,
      why: expect.stringMatching(/no backend "nonexistent"/),
    });
    expect(info.reason).toMatch(/requested "nonexistent" \(CNNVIZ_BACKEND\) failed; fell back/);
  });

  it('strict turns a failed request into a BACKEND error', async () => {
    await expect(initBackend({ backend: 'nonexistent', strict: true })).rejects.toMatchObject({
      code: 'BACKEND',
      message: expect.stringMatching(/nonexistent/),
    });
    await expect(initBackend({ threads: 0 })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });

  it('precision: float32 by default; float16 on cpu falls back with the reason, or throws BACKEND when strict', async () => {
    const plain = await initBackend({ backend: 'cpu' });
    expect(plain.precision).toBe('float32');
    expect(plain.precisionReason).toBe('float32 (the default)');
    process.env.CNNVIZ_PRECISION = 'float16';
    const asked = await initBackend({ backend: 'cpu' });
    expect(asked.name).toBe('cpu');
    expect(asked.precision).toBe('float32');
    expect(asked.precisionReason).toMatch(
      /^float16 requested, but backend "cpu" has no half-precision path .*\(requested by CNNVIZ_PRECISION\)$/,
    );
    await expect(initBackend({ backend: 'cpu', precision: 'float16', strict: true })).rejects.toMatchObject({
      code: 'BACKEND',
      message: expect.stringMatching(/float16 requested by the precision option \(strict\)/),
    });
    // The option beats the environment; a bad value is rejected before any backend starts.
    expect((await initBackend({ backend: 'cpu', precision: 'float32' })).precisionReason).toBe(
      'float32 (requested by the precision option)',
    );
    await expect(initBackend({ precision: 'half' as 'float16' })).rejects.toMatchObject({
      code: 'BAD_OPTION',
      message: "the precision option must be 'float32' or 'float16', got \"half\"",
    });
    process.env.CNNVIZ_PRECISION = 'fp16';
    await expect(initBackend({ backend: 'cpu' })).rejects.toMatchObject({
      code: 'BAD_OPTION',
      message: expect.stringMatching(/^CNNVIZ_PRECISION must be 'float32' or 'float16', got "fp16"/),
    });
  });

  it('the self-test rejects a backend whose gradient is wrong and falls through', async () => {
    // A copy of the cpu backend whose max-pool gradient routes to the wrong pixel (first, not argmax).
    const cpuFactory = tf.findBackendFactory('cpu')!;
    tf.registerBackend('broken', cpuFactory);
    for (const k of tf.getKernelsForBackend('cpu')) tf.registerKernel({ ...k, backendName: 'broken' });
    tf.unregisterKernel('MaxPoolGrad', 'broken');
    tf.registerKernel({
      kernelName: 'MaxPoolGrad',
      backendName: 'broken',
      kernelFunc: ({ inputs, backend }) => {
        const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
        const cpu = backend as tf.KernelBackend & {
          makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo;
        };
        const dv = cpu.readSync(dy.dataId) as Float32Array;
        const [, , w, c] = input.shape;
        const [, ph, pw] = dy.shape;
        const g = new Float32Array(input.shape.reduce((x, y) => x * y, 1));
        for (let i = 0; i < ph; i++) {
          for (let j = 0; j < pw; j++) {
            for (let k = 0; k < c; k++) g[(2 * i * w + 2 * j) * c + k] = dv[(i * pw + j) * c + k];
          }
        }
        return cpu.makeTensorInfo(input.shape, 'float32', g);
      },
    });
    const info = await initBackend({ backend: 'broken' });
    expect(info.tried[0]).toMatchObject({
      name: 'broken',
      ok: false,
      why: expect.stringMatching(/self-test failed: .*differs from the closed form/),
    });
    expect(info.name).toBe('wasm');
  });

  it("the self-test catches stock WASM's MaxPoolGrad bug (negative window maxima) and passes with the fixes", async () => {
    await initBackend({ backend: 'wasm' });
    unregisterKernelFixes('wasm');
    const stockMaxPoolGrad = tf.getKernel('MaxPoolGrad', 'wasm')!;
    registerKernelFixes('wasm');
    try {
      // Every fix but MaxPoolGrad: stock WASM sends the gradient of a window with a negative max to the wrong place.
      tf.unregisterKernel('MaxPoolGrad', 'wasm');
      tf.registerKernel(stockMaxPoolGrad);
      const stock = await selfTest();
      expect(stock).toMatchObject({
        ok: false,
        why: expect.stringMatching(/^(gradient|guided gradient) differs from the closed form/),
      });
    } finally {
      unregisterKernelFixes('wasm');
      registerKernelFixes('wasm');
    }
    const fixed = await selfTest();
    expect(fixed).toMatchObject({ ok: true });
    expect(fixed.maxError).toBeLessThan(1e-4);
  });

  it('the self-test leaks no tensors and matches cpu', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const r = await selfTest();
    expect(r.ok).toBe(true);
    expect(r.maxError).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('threaded WASM', () => {
  it('a script that started the threaded WASM backend exits by itself, and its threads compute', () => {
    // Emscripten's pthread workers keep an event loop alive unless cnnviz unrefs them.
    const script = `
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-cpu');
      const { initBackend } = await import('@cnnviz/node');
      const info = await initBackend({ backend: 'wasm', strict: true, threads: 2 });
      const x = tf.randomUniform([1, 64, 64, 32], -1, 1, 'float32', 1);
      const w = tf.randomUniform([3, 3, 32, 64], -1, 1, 'float32', 2);
      const got = await tf.conv2d(x, w, 1, 'same').data();
      await tf.setBackend('cpu');
      const want = await tf.conv2d(tf.tensor(await x.data(), x.shape), tf.tensor(await w.data(), w.shape), 1, 'same').data();
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
      console.log(JSON.stringify({ threads: info.threads, err }));`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(out.signal, out.stderr).toBeNull();
    expect(out.status, out.stderr).toBe(0);
    const r = JSON.parse(out.stdout.trim().split('\n').pop()!);
    expect(r.threads).toBe(2);
    expect(r.err).toBeLessThan(1e-3);
  });
});
