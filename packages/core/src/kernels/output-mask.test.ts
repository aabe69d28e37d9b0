import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerKernelFixes } from './index.js';
import { setupBackends } from './test-backends.js';
import { fusedInputOnlyConv2d } from './webgpu-fused-input-conv.js';
import { OUTPUT_MASK_KERNEL } from './webgpu-kernel-fixes.js';
import { outputMaskValues } from './output-mask.js';
import { simdMask } from './wasm-simd-mask.js';

describe('CnnvizOutputMask on wasm and cpu', () => {
  beforeAll(async () => {
    await setupBackends();
    registerKernelFixes('cpu');
  });

  it.each(['wasm', 'cpu'])(
    '%s: passes dy where 0 < y (< 6), zero elsewhere, the edges included',
    async (backend) => {
      await tf.setBackend(backend);
      const y = tf.tensor1d([-1, 0, 1e-7, 3, 6, 7, 5.999]);
      const dy = tf.tensor1d([1, 2, 3, 4, 5, 6, 7]);
      const run = (mask: string) =>
        tf
          .engine()
          .runKernel(OUTPUT_MASK_KERNEL, { dy, y }, { mask } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const before = tf.memory().numTensors;
      const r6 = run('relu6');
      const r = run('relu');
      expect(Array.from(await r6.data())).toEqual([0, 0, 3, 4, 0, 0, 7]);
      expect(Array.from(await r.data())).toEqual([0, 0, 3, 4, 5, 6, 7]);
      tf.dispose([r6, r]);
      expect(tf.memory().numTensors).toBe(before);
      expect(() => run('sigmoid')).toThrow(/mask relu\|relu6/);
      tf.dispose([y, dy]);
    },
  );

  it("the SIMD module also binds the shared memory of tfjs-wasm's threaded build", () => {
    // The threaded build's memory: shared, at most 4 GiB.
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const fns = simdMask(memory);
    expect(fns).toBeDefined();
    const n = 1000;
    const heap = new Float32Array(memory.buffer);
    const y = heap.subarray(0, n);
    const dy = heap.subarray(n, 2 * n);
    for (let i = 0; i < n; i++) {
      y[i] = (i % 17) - 4;
      dy[i] = i + 0.5;
    }
    fns!.relu6(n * 4, 0, 2 * n * 4, n);
    const want = new Float32Array(n);
    outputMaskValues(dy, y, 'relu6', want);
    expect(Array.from(heap.subarray(2 * n, 3 * n))).toEqual(Array.from(want));
  });

  it('wasm: the SIMD module runs on the backend heap and equals the JS loop on a large odd-sized tensor', async () => {
    await tf.setBackend('wasm');
    const memory = (tf.backend() as unknown as { wasm: { asm: { memory: WebAssembly.Memory } } }).wasm.asm
      .memory;
    expect(simdMask(memory)).toBeDefined();
    const n = 100_003;
    const y = tf.randomUniform([n], -2, 8, 'float32', 5);
    const dy = tf.randomNormal([n], 0, 1, 'float32', 6);
    for (const mask of ['relu6', 'relu'] as const) {
      const got = tf
        .engine()
        .runKernel(OUTPUT_MASK_KERNEL, { dy, y }, { mask } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const want = new Float32Array(n);
      outputMaskValues(await dy.data(), await y.data(), mask, want);
      const g = await got.data();
      let diff = 0;
      for (let i = 0; i < n; i++) if (g[i] !== want[i]) diff++;
      expect(diff).toBe(0);
      got.dispose();
    }
    tf.dispose([y, dy]);
  });

  it.each(['wasm', 'cpu'])(
    '%s: the fused conv + ReLU6 input gradient uses it and equals the unfused one',
    async (backend) => {
      await tf.setBackend(backend);
      const x = tf.randomNormal([2, 7, 7, 3], 0, 2, 'float32', 1) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 3, 5], 0, 1, 'float32', 2) as tf.Tensor4D;
      const b = tf.randomNormal([5], 0, 1, 'float32', 3) as tf.Tensor1D;
      const fused = (t: tf.Tensor) =>
        tf.sum(
          tf.square(fusedInputOnlyConv2d(t as tf.Tensor4D, w, { bias: b, pad: 'same', activation: 'relu6' })),
        );
      const plain = (t: tf.Tensor) =>
        tf.sum(tf.square(tf.relu6(tf.add(tf.conv2d(t as tf.Tensor4D, w, 1, 'same'), b))));
      let g: tf.Tensor | undefined;
      const info = await tf.profile(() => {
        g = tf.grad(fused)(x);
      });
      expect(info.kernelNames).toContain(OUTPUT_MASK_KERNEL);
      expect(info.kernelNames).not.toContain('LogicalAnd');
      const ref = tf.grad(plain)(x);
      const err = tf.tidy(
        () => tf.max(tf.abs(tf.sub(g!, ref))).dataSync()[0] / tf.max(tf.abs(ref)).dataSync()[0],
      );
      expect(err).toBeLessThan(1e-5);
      // Some units saturate on each side, so both edges of the mask matter here.
      const pre = tf.tidy(() => tf.add(tf.conv2d(x, w, 1, 'same'), b));
      expect(tf.tidy(() => tf.sum(tf.cast(tf.greater(pre, 6), 'float32')).dataSync()[0])).toBeGreaterThan(0);
      expect(tf.tidy(() => tf.sum(tf.cast(tf.less(pre, 0), 'float32')).dataSync()[0])).toBeGreaterThan(0);
      tf.dispose([x, w, b, g!, ref, pre]);
    },
  );
});
