import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerKernelFixes, unregisterKernelFixes } from './index.js';
import { maxPoolGradValues } from './wasm-maxpool-grad.js';
import { simdMaxPoolGrad } from './wasm-simd-maxpool-grad.js';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, relErr, seeded } from './test-util.js';

type Pad = 'same' | 'valid';
const cases: Array<{
  shape: [number, number, number, number];
  f: number;
  s: number;
  pad: Pad;
  lo: number;
  hi: number;
}> = [
  { shape: [2, 6, 6, 3], f: 2, s: 2, pad: 'valid', lo: -1, hi: 1 },
  { shape: [1, 7, 5, 4], f: 3, s: 2, pad: 'same', lo: -1, hi: 1 },
  { shape: [1, 7, 7, 2], f: 3, s: 1, pad: 'same', lo: -1, hi: 1 },
  { shape: [2, 9, 8, 3], f: 3, s: 2, pad: 'valid', lo: -1, hi: 1 },
  // Every window's maximum is negative: the stock wasm kernel returns all zeros here.
  { shape: [2, 6, 6, 3], f: 2, s: 2, pad: 'valid', lo: -3, hi: -0.5 },
  { shape: [1, 5, 5, 2], f: 3, s: 1, pad: 'same', lo: -3, hi: -0.5 },
  // Channels a multiple of 4: the SIMD kernel (wasm-simd-maxpool-grad.ts).
  { shape: [2, 9, 9, 8], f: 3, s: 2, pad: 'valid', lo: -1, hi: 1 },
  { shape: [1, 11, 10, 16], f: 3, s: 2, pad: 'same', lo: -1, hi: 1 },
  { shape: [1, 7, 7, 12], f: 3, s: 1, pad: 'same', lo: -3, hi: -0.5 },
  { shape: [1, 8, 8, 4], f: 2, s: 2, pad: 'valid', lo: -1, hi: 1 },
];

async function maxPoolGrad(backend: string, c: (typeof cases)[number], seed: number) {
  const rng = seeded(seed);
  const input = randomInput(c.shape, rng, c.lo, c.hi);
  await tf.setBackend('cpu');
  const outT = tf.maxPool(tf.tensor4d(Array.from(input.values), c.shape), c.f, c.s, c.pad);
  const output = { values: outT.dataSync().slice(), shape: outT.shape.slice() };
  const dy = randomInput(output.shape, rng);
  outT.dispose();
  const attrs = { filterSize: [c.f, c.f], strides: [c.s, c.s], pad: c.pad };
  return kernelOn(backend, tf.MaxPoolGrad, { dy, input, output }, attrs);
}

describe('wasm MaxPoolGrad fix', () => {
  beforeAll(setupBackends);

  it.each(cases)('matches cpu: $shape window $f stride $s $pad values in [$lo, $hi)', async (c) => {
    const want = await maxPoolGrad('cpu', c, 11);
    const got = await maxPoolGrad('wasm', c, 11);
    expect(got.shape).toEqual(want.shape);
    expect(relErr(got.values, want.values)).toBeLessThan(1e-6);
  });

  it('breaks ties like cpu (first maximum in row-major order)', async () => {
    const input = { values: [-1, -1, -1, -1, 2, 2, 2, 2, 0, 0, 0, 0, -5, -5, -5, -5], shape: [1, 4, 4, 1] };
    const output = { values: [-1, 2, -5, -5], shape: [1, 2, 2, 1] };
    const dy = { values: [1, 2, 3, 4], shape: [1, 2, 2, 1] };
    const attrs = { filterSize: [2, 2], strides: [2, 2], pad: 'valid' };
    const want = await kernelOn('cpu', tf.MaxPoolGrad, { dy, input, output }, attrs);
    const got = await kernelOn('wasm', tf.MaxPoolGrad, { dy, input, output }, attrs);
    expect(Array.from(got.values)).toEqual(Array.from(want.values));
  });

  it("SIMD kernel: breaks ties like cpu with 4 channels, and runs on the threaded build's shared memory", async () => {
    // Every value repeated across each 2x2 window: the first cell must win in every channel.
    const values: number[] = [];
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) for (let d = 0; d < 4; d++) values.push(d - 2);
    const input = { values, shape: [1, 4, 4, 4] };
    const output = { values: Array.from({ length: 16 }, (_, i) => (i % 4) - 2), shape: [1, 2, 2, 4] };
    const dy = { values: Array.from({ length: 16 }, (_, i) => i + 1), shape: [1, 2, 2, 4] };
    const attrs = { filterSize: [2, 2], strides: [2, 2], pad: 'valid' };
    const want = await kernelOn('cpu', tf.MaxPoolGrad, { dy, input, output }, attrs);
    const got = await kernelOn('wasm', tf.MaxPoolGrad, { dy, input, output }, attrs);
    expect(Array.from(got.values)).toEqual(Array.from(want.values));
    await tf.setBackend('wasm');
    const backendMemory = (tf.backend() as unknown as { wasm: { asm?: { memory?: WebAssembly.Memory } } })
      .wasm.asm?.memory;
    expect(backendMemory && simdMaxPoolGrad(backendMemory)).toBeDefined();
    const shared = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const fn = simdMaxPoolGrad(shared)!;
    const heap = new Float32Array(shared.buffer);
    const x = heap.subarray(0, 5 * 6 * 8);
    const g = heap.subarray(1000, 1000 + 3 * 3 * 8);
    const rng = seeded(3);
    x.forEach((_, i) => (x[i] = rng() - 0.5));
    g.forEach((_, i) => (g[i] = rng()));
    const info = tf.backend_util.computePool2DInfo([1, 5, 6, 8], [3, 3], [2, 2], 1, 'same');
    fn(
      0,
      4000,
      8000,
      5,
      6,
      32,
      info.outHeight,
      info.outWidth,
      2,
      2,
      3,
      3,
      info.padInfo.top,
      info.padInfo.left,
    );
    const ref = maxPoolGradValues(x, g, info);
    expect(Array.from(heap.subarray(2000, 2000 + ref.length))).toEqual(Array.from(ref));
  });

  it('the stock wasm kernel is wrong on all-negative windows (why the fix exists)', async () => {
    unregisterKernelFixes('wasm');
    try {
      const c = cases[4];
      const want = await maxPoolGrad('cpu', c, 5);
      const stock = await maxPoolGrad('wasm', c, 5);
      expect(relErr(stock.values, want.values)).toBeGreaterThan(0.1);
    } finally {
      registerKernelFixes('wasm');
    }
  });
});
