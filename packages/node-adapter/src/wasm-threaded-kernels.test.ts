import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernelFixCacheSize } from '../../core/src/kernels/derived-weights.js';
import { planGemmBackpropInput, planGemmConv } from '../../core/src/kernels/wasm-gemm-conv2d.js';
import { wasmMemoryOf, wasmThreadsOf } from '../../core/src/kernels/wasm-heap.js';
import type { WinogradKind } from '../../core/src/kernels/wasm-simd-winograd.js';
import { tryWinograd } from '../../core/src/kernels/wasm-winograd-conv2d.js';
import { initBackend } from './backend.js';

/**
 * core's own WASM convolutions on the threaded build, where their tile loops and matrix products are shared with a
 * helper thread over the backend's shared heap (the other kernel tests run the single-threaded build): the same values
 * as the cpu backend, and the same bits on every run whichever thread took which part.
 */
interface Case {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: 'same' | 'valid';
  winograd?: WinogradKind;
}

const cases: Case[] = [
  {
    name: 'F(4,3), border tiles on all sides',
    x: [1, 41, 38, 32],
    filter: [3, 3, 32, 24],
    strides: 1,
    pad: 'same',
    winograd: '4x3',
  },
  {
    name: 'F(4,3), batch 2, valid',
    x: [2, 30, 30, 16],
    filter: [3, 3, 16, 16],
    strides: 1,
    pad: 'valid',
    winograd: '4x3',
  },
  { name: 'F(2,5)', x: [1, 28, 28, 48], filter: [5, 5, 48, 64], strides: 1, pad: 'same', winograd: '2x5' },
  { name: 'F(2,3)', x: [1, 25, 27, 8], filter: [3, 3, 8, 12], strides: 1, pad: 'same', winograd: '2x3' },
  {
    name: 'patch matrix, 3x3 stride 2',
    x: [1, 35, 33, 24],
    filter: [3, 3, 24, 40],
    strides: 2,
    pad: 'valid',
  },
  {
    name: 'patch matrix by column panels',
    x: [1, 15, 15, 128],
    filter: [3, 3, 128, 256],
    strides: 2,
    pad: 'same',
  },
  { name: '1x1 in place', x: [1, 28, 28, 64], filter: [1, 1, 64, 36], strides: 1, pad: 'same' },
];

describe('WASM convolutions on the threaded build', () => {
  let backend: tf.KernelBackend;
  beforeAll(async () => {
    const info = await initBackend({ backend: 'wasm', threads: 2, strict: true });
    expect(info.threads).toBe(2);
    backend = tf.backend();
    expect(wasmThreadsOf(backend)).toBe(2);
    expect(wasmMemoryOf(backend)?.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it.each(cases)('matches cpu, the same bits on every run: $name', async (c) => {
    await tf.setBackend('wasm');
    kernelFixCacheSize();
    const before = backend.numDataIds();
    const xv = tf.randomUniform(c.x, -1, 1, 'float32', 3);
    const fv = tf.randomUniform(c.filter, -1, 1, 'float32', 4);
    const bv = tf.randomUniform([c.filter[3]], -1, 1, 'float32', 5);
    const attrs = { strides: c.strides, pad: c.pad, activation: 'relu' } as unknown as tf.Conv2DAttrs;
    const runOnce = () => {
      const call = { x: xv, filter: fv, bias: bv, attrs };
      const y =
        c.winograd !== undefined
          ? tryWinograd(backend, call, c.winograd)
          : planGemmConv(backend, call)?.run();
      if (y === undefined) throw new Error('did not apply');
      const values = Float32Array.from(backend.readSync(y.dataId) as Float32Array);
      backend.disposeData(y.dataId, true);
      return values;
    };
    const runs = [runOnce(), runOnce(), runOnce()];
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);

    const [xs, fs, bs] = await Promise.all([xv.data(), fv.data(), bv.data()]);
    await tf.setBackend('cpu');
    const want = tf.tidy(() =>
      tf.relu(
        tf.add(tf.conv2d(tf.tensor4d(xs, c.x), tf.tensor4d(fs, c.filter), c.strides, c.pad), tf.tensor1d(bs)),
      ),
    );
    const w = await want.data();
    want.dispose();
    let maxErr = 0;
    let maxAbs = 0;
    for (let i = 0; i < w.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(runs[0][i] - w[i]));
      maxAbs = Math.max(maxAbs, Math.abs(w[i]));
    }
    expect(runs[0].length).toBe(w.length);
    expect(maxErr / maxAbs).toBeLessThan(1e-5);
    await tf.setBackend('wasm');
    tf.dispose([xv, fv, bv]);
    kernelFixCacheSize();
    expect(backend.numDataIds()).toBe(before);
  });

  it("a strided convolution's input gradient as one product and a scatter matches cpu", async () => {
    await tf.setBackend('wasm');
    const xShape: [number, number, number, number] = [1, 28, 28, 96];
    const fShape: [number, number, number, number] = [3, 3, 96, 128];
    const info = tf.backend_util.computeConv2DInfo(xShape, fShape, 2, 1, 'valid');
    const dy = tf.randomUniform([1, info.outHeight, info.outWidth, 128], -1, 1, 'float32', 6);
    const filter = tf.randomUniform(fShape, -1, 1, 'float32', 7);
    const plan = planGemmBackpropInput(backend, dy, filter, info);
    if (plan === undefined) throw new Error('did not apply');
    const y = plan.run();
    const got = Float32Array.from(backend.readSync(y.dataId) as Float32Array);
    backend.disposeData(y.dataId, true);
    const [dyv, fv] = await Promise.all([dy.data(), filter.data()]);
    await tf.setBackend('cpu');
    const want = tf.tidy(() =>
      tf
        .conv2dTranspose(
          tf.tensor4d(dyv, dy.shape as [number, number, number, number]),
          tf.tensor4d(fv, fShape),
          xShape,
          2,
          'valid',
        )
        .dataSync(),
    );
    let maxErr = 0;
    let maxAbs = 0;
    for (let i = 0; i < want.length; i++) {
      maxErr = Math.max(maxErr, Math.abs(got[i] - want[i]));
      maxAbs = Math.max(maxAbs, Math.abs(want[i]));
    }
    expect(maxErr / maxAbs).toBeLessThan(1e-5);
    await tf.setBackend('wasm');
    tf.dispose([dy, filter]);
  });
});
