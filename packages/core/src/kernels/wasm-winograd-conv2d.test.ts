import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { stockKernel } from './registry.js';
import { setupBackends } from './test-backends.js';
import { type PadSpec } from './conv-cases.test-data.js';
import { directConv2dF64 as reference, type ReferenceActivation } from './direct-conv.test-data.js';
import { kernelOn, randomArray, relErr as err, seeded } from './test-util.js';
import { kernelFixCacheSize } from './derived-weights.js';
import { tryWinograd, winogradFilterValues, winogradKindFor } from './wasm-winograd-conv2d.js';
import { type WinogradKind } from './wasm-simd-winograd.js';

interface Case {
  shape: [number, number, number, number];
  k: number;
  pad: PadSpec;
}

const cases: Case[] = [
  { shape: [1, 7, 9, 4], k: 8, pad: 'same' }, // odd sizes: partial tiles at the bottom and the right
  { shape: [2, 11, 10, 8], k: 4, pad: 'valid' }, // batch 2
  {
    shape: [1, 5, 5, 4],
    k: 4,
    pad: [
      [0, 0],
      [2, 2],
      [2, 2],
      [0, 0],
    ],
  }, // "full": the input gradient of a valid conv
  {
    shape: [1, 6, 13, 12],
    k: 16,
    pad: [
      [0, 0],
      [1, 0],
      [0, 2],
      [0, 0],
    ],
  }, // asymmetric explicit pads
  { shape: [1, 3, 3, 4], k: 4, pad: 'valid' }, // one output pixel
  { shape: [1, 14, 15, 16], k: 12, pad: 'same' },
];

/**
 * Runs Winograd of `kind` directly (no threshold) on fresh tensors and returns its values; checks that once the
 * inputs are gone the backend holds no more buffers than before (the cached transformed filters go with the filter).
 */
function winograd(
  x: { values: Float32Array; shape: number[] },
  filter: { values: Float32Array; shape: number[] },
  bias: Float32Array | undefined,
  attrs: Record<string, unknown>,
  kind: WinogradKind,
): { values: Float32Array; shape: number[] } {
  const backend = tf.backend();
  kernelFixCacheSize();
  const before = backend.numDataIds();
  const xt = tf.tensor(x.values, x.shape);
  const ft = tf.tensor(filter.values, filter.shape);
  const bt = bias !== undefined ? tf.tensor(bias, [bias.length]) : undefined;
  const y = tryWinograd(
    backend,
    { x: xt, filter: ft, bias: bt, attrs: attrs as unknown as tf.Conv2DAttrs },
    kind,
  );
  if (y === undefined) throw new Error('Winograd did not apply');
  const values = Float32Array.from(backend.readSync(y.dataId) as Float32Array);
  backend.disposeData(y.dataId, true);
  tf.dispose([xt, ft, ...(bt !== undefined ? [bt] : [])]);
  kernelFixCacheSize();
  expect(backend.numDataIds()).toBe(before);
  return { values, shape: y.shape };
}

describe('wasm Winograd convolution', () => {
  beforeAll(setupBackends);

  it('transforms the filter so that Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A is the 3-tap correlation (1-D, by hand)', () => {
    // With C = K = 1 and a filter that is zero but for one row, the transform reduces to 1-D rows of G g.
    const g = new Float32Array([1, 2, 3, 0, 0, 0, 0, 0, 0]);
    const u = winogradFilterValues(g, [3, 3, 1, 1], '2x3');
    // G [1,2,3]ᵀ = [1, 3, 1, 3]; the row transform Gᵀ on the column e1 = [1, 0.5, 0.5, 0] scales it.
    const gRow = [1, 3, 1, 3];
    const gCol = [1, 0.5, 0.5, 0];
    for (let r = 0; r < 4; r++)
      for (let s = 0; s < 4; s++) expect(u[r * 4 + s][0]).toBeCloseTo(gCol[r] * gRow[s], 6);
  });

  // fp32 round-off grows with the transforms' constants: F(2,3)'s are 0.5 and 1; F(4,3)'s and F(2,5)'s up to 8 (Aᵀ,
  // F(4,3)) and 5 (Bᵀ). Measured on these cases: F(2,3) ≤ 1.8e-7, F(4,3) ≤ 2.9e-6 of the largest output (the stock
  // direct kernel ~1e-7); on InceptionV3's shapes (C up to 192, bench/src/winograd-bench.ts) F(4,3) reaches 1.0e-5
  // where the stock kernel has 1.8e-6. The bounds leave ~3x room over what was measured.
  const bound: Record<WinogradKind, number> = { '2x3': 1e-6, '4x3': 1e-5, '2x5': 1e-5 };
  for (const kind of ['2x3', '4x3', '2x5'] as WinogradKind[]) {
    const fs = kind === '2x5' ? 5 : 3;
    // 5x5 valid needs at least 5 rows and columns.
    const usable = cases.filter((c) => c.pad !== 'valid' || Math.min(c.shape[1], c.shape[2]) >= fs);
    it.each(usable)(`F(${kind}) matches a float64 direct convolution: $shape -> $k, pad $pad`, async (c) => {
      await tf.setBackend('wasm');
      const rng = seeded(7);
      const [n, h, w, ch] = c.shape;
      const xv = randomArray(n * h * w * ch, rng);
      const fv = randomArray(fs * fs * ch * c.k, rng);
      const want = reference(xv, c.shape, fv, c.k, c.pad, undefined, 'linear', fs);
      const got = winograd(
        { values: xv, shape: c.shape },
        { values: fv, shape: [fs, fs, ch, c.k] },
        undefined,
        { strides: 1, pad: c.pad },
        kind,
      );
      expect(got.shape).toEqual(want.shape);
      expect(err(got.values, want.values)).toBeLessThan(bound[kind]);
    });
  }

  it.each(['linear', 'relu', 'relu6'] as ReferenceActivation[])(
    'fuses bias and %s into the output transform (F(4,3), with and without bias)',
    async (act) => {
      await tf.setBackend('wasm');
      const rng = seeded(3);
      const shape = [2, 9, 10, 8];
      const xv = randomArray(2 * 9 * 10 * 8, rng, -3, 3);
      const fv = randomArray(9 * 8 * 12, rng, -1, 1);
      const bv = randomArray(12, rng, -4, 4);
      for (const bias of [bv, undefined]) {
        const want = reference(xv, shape, fv, 12, 'same', bias, act);
        const attrs = { strides: 1, pad: 'same', activation: act };
        const got = winograd({ values: xv, shape }, { values: fv, shape: [3, 3, 8, 12] }, bias, attrs, '4x3');
        expect(err(got.values, want.values)).toBeLessThan(1e-5);
        if (act === 'relu6') expect(Math.max(...got.values)).toBeLessThanOrEqual(6);
      }
    },
  );

  it('is what the registered Conv2D and FusedConv2D run on a large enough shape, and matches cpu', async () => {
    const rng = seeded(5);
    const shape = [1, 32, 31, 32];
    const info = tf.backend_util.computeConv2DInfo(
      shape as [number, number, number, number],
      [3, 3, 32, 32],
      1,
      1,
      'same',
    );
    expect(winogradKindFor(info)).toBe('4x3');
    const x = { values: randomArray(32 * 31 * 32, rng), shape };
    const filter = { values: randomArray(9 * 32 * 32, rng), shape: [3, 3, 32, 32] };
    const bias = { values: randomArray(32, rng), shape: [32] };
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] };
    const want = reference(
      Float32Array.from(x.values),
      shape,
      Float32Array.from(filter.values),
      32,
      'same',
      undefined,
      'linear',
    );
    const got = await kernelOn('wasm', tf.Conv2D, { x, filter }, attrs);
    expect(got.shape).toEqual(want.shape);
    expect(err(got.values, want.values)).toBeLessThan(1e-5);
    const fusedAttrs = { ...attrs, activation: 'relu' };
    const wantF = reference(
      Float32Array.from(x.values),
      shape,
      Float32Array.from(filter.values),
      32,
      'same',
      Float32Array.from(bias.values),
      'relu',
    );
    const gotF = await kernelOn('wasm', tf.FusedConv2D, { x, filter, bias }, fusedAttrs);
    expect(err(gotF.values, wantF.values)).toBeLessThan(1e-5);
  });

  it('splits a large input into passes of at most ~32 MB (here 2 passes) with the same result', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const rng = seeded(21);
    // 484x484, C = K = 16: 121² = 14641 tiles > 8 Mi floats / (36 x 16) = 14563 per pass.
    const x = tf.tensor4d(randomArray(484 * 484 * 16, rng), [1, 484, 484, 16]);
    const f = tf.tensor4d(randomArray(9 * 16 * 16, rng), [3, 3, 16, 16]);
    const attrs = { strides: 1, pad: 'same' } as unknown as tf.Conv2DAttrs;
    const y = tryWinograd(backend, { x, filter: f, attrs }, '4x3');
    if (y === undefined) throw new Error('Winograd did not apply');
    const got = Float32Array.from(backend.readSync(y.dataId) as Float32Array);
    backend.disposeData(y.dataId, true);
    // The stock XNNPACK kernel as the reference (tf.conv2d would run this fix again).
    const stock = stockKernel(tf.Conv2D, 'wasm')?.kernelFunc({
      inputs: { x, filter: f },
      backend,
      attrs: { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1] },
    }) as tf.TensorInfo;
    const want = Float32Array.from(backend.readSync(stock.dataId) as Float32Array);
    backend.disposeData(stock.dataId, true);
    expect(err(got, want)).toBeLessThan(1e-5);
    tf.dispose([x, f]);
  });

  it('picks F(4,3) for 3x3 up to C·K = 16384, F(2,3) above (filter memory), F(2,5) for 5x5, none when small', () => {
    const kind = (h: number, c: number, k: number, f = 3) =>
      winogradKindFor(tf.backend_util.computeConv2DInfo([1, h, h, c], [f, f, c, k], 1, 1, 'same'));
    expect(kind(54, 80, 192)).toBe('4x3');
    expect(kind(14, 256, 256)).toBe('2x3');
    expect(kind(7, 512, 512)).toBe('2x3');
    expect(kind(25, 48, 64, 5)).toBe('2x5');
    expect(kind(16, 32, 32)).toBeUndefined(); // 2.4 M multiply-adds
    expect(kind(24, 16, 16)).toBeUndefined();
    expect(kind(30, 12, 32)).toBeUndefined(); // C < 16
    expect(kind(30, 32, 32, 7)).toBeUndefined();
  });

  it("runs InceptionV3's 5x5 convolution (48 -> 64 at 25x25) as F(2x2,5x5) through the registered FusedConv2D", async () => {
    const rng = seeded(6);
    const shape = [1, 25, 25, 48];
    const info = tf.backend_util.computeConv2DInfo([1, 25, 25, 48], [5, 5, 48, 64], 1, 1, 'same');
    expect(winogradKindFor(info)).toBe('2x5');
    const x = { values: randomArray(25 * 25 * 48, rng), shape };
    const filter = { values: randomArray(25 * 48 * 64, rng), shape: [5, 5, 48, 64] };
    const bias = { values: randomArray(64, rng), shape: [64] };
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], activation: 'relu' };
    const want = reference(x.values, shape, filter.values, 64, 'same', bias.values, 'relu', 5);
    const got = await kernelOn('wasm', tf.FusedConv2D, { x, filter, bias }, attrs);
    expect(got.shape).toEqual(want.shape);
    expect(err(got.values, want.values)).toBeLessThan(1e-5);
  });

  it('compiles in the background where synchronous compilation is refused (browsers, > 4 KB), stock meanwhile', async () => {
    vi.resetModules();
    const fresh = await import('./wasm-simd-winograd.js');
    const Module = WebAssembly.Module;
    // Chrome's main-thread rule, as it words it.
    const refuse = function () {
      throw new RangeError(
        'WebAssembly.Module is disallowed on the main thread, if the buffer size is larger than 4KB.',
      );
    } as unknown as typeof WebAssembly.Module;
    const memory = new WebAssembly.Memory({ initial: 1 });
    WebAssembly.Module = refuse;
    try {
      expect(fresh.simdWinograd(memory, '4x3')).toBeUndefined();
      expect(fresh.simdWinograd(memory, '4x3')).toBeUndefined(); // still compiling: no second compilation
    } finally {
      WebAssembly.Module = Module;
    }
    await vi.waitFor(() => expect(fresh.simdWinograd(memory, '4x3')).toBeDefined());
    // The background-compiled transform computes: a tile of ones (C = 4) gives V = (Bᵀ 1 B)_ξ = (Bᵀ1)_r (Bᵀ1)_s.
    const f32 = new Float32Array(memory.buffer);
    const i32 = new Int32Array(memory.buffer);
    f32.fill(1, 0, 36 * 4);
    for (let x = 0; x < 36; x++) i32[1024 + x] = 8192 + 16 * x;
    fresh.simdWinograd(memory, '4x3')?.inputTile(0, 6 * 16, 16, 16, 4096, 0);
    const rowSums = fresh.WINOGRAD['4x3'].BT.map((row) => row.reduce((a, b) => a + b, 0));
    for (let r = 0; r < 6; r++) {
      for (let c = 0; c < 6; c++) expect(f32[2048 + 4 * (r * 6 + c)]).toBeCloseTo(rowSums[r] * rowSums[c], 6);
    }
  });

  it('leaves other convolutions to the stock kernel: C not a multiple of 4, stride 2, 7x7, dilation, small', async () => {
    const rng = seeded(9);
    const others: Array<{ shape: number[]; f: number[]; attrs: Record<string, unknown> }> = [
      { shape: [1, 30, 30, 30], f: [3, 3, 30, 32], attrs: { strides: 1, pad: 'same' } },
      { shape: [1, 30, 30, 32], f: [3, 3, 32, 30], attrs: { strides: 1, pad: 'same' } },
      { shape: [1, 30, 30, 32], f: [3, 3, 32, 32], attrs: { strides: 2, pad: 'same' } },
      { shape: [1, 30, 30, 32], f: [7, 7, 32, 32], attrs: { strides: 1, pad: 'valid' } },
      { shape: [1, 30, 30, 32], f: [3, 3, 32, 32], attrs: { strides: 1, pad: 'valid', dilations: 2 } },
      { shape: [1, 6, 6, 8], f: [3, 3, 8, 8], attrs: { strides: 1, pad: 'same' } },
    ];
    await tf.setBackend('wasm');
    for (const o of others) {
      const x = tf.tensor(randomArray(tf.util.sizeFromShape(o.shape), rng), o.shape);
      const f = tf.tensor(randomArray(tf.util.sizeFromShape(o.f), rng), o.f);
      expect(
        tryWinograd(tf.backend(), { x, filter: f, attrs: o.attrs as unknown as tf.Conv2DAttrs }),
      ).toBeUndefined();
      const inputs = {
        x: { values: x.dataSync(), shape: o.shape },
        filter: { values: f.dataSync(), shape: o.f },
      };
      tf.dispose([x, f]);
      const attrs = { dataFormat: 'NHWC', dilations: 1, ...o.attrs };
      const want = await kernelOn('cpu', tf.Conv2D, inputs, attrs);
      const got = await kernelOn('wasm', tf.Conv2D, inputs, attrs);
      expect(got.shape).toEqual(want.shape);
      expect(err(got.values, want.values)).toBeLessThan(1e-5);
    }
  });

  it('speeds up the input gradient too: d/dx of a stride-1 3x3 valid conv matches cpu, no tensor leaks', async () => {
    const rng = seeded(13);
    const xv = randomArray(26 * 27 * 32, rng);
    const fv = randomArray(9 * 32 * 48, rng);
    const dyv = randomArray(24 * 25 * 48, rng);
    const grad = async (backend: string) => {
      await tf.setBackend(backend);
      const before = tf.memory().numTensors;
      const x = tf.tensor4d(xv, [1, 26, 27, 32]);
      const f = tf.tensor4d(fv, [3, 3, 32, 48]);
      const dy = tf.tensor4d(dyv, [1, 24, 25, 48]);
      const g = tf.grad((xx) => tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, f, 1, 'valid'), dy)))(x);
      const v = Float32Array.from(g.dataSync());
      tf.dispose([x, f, dy, g]);
      expect(tf.memory().numTensors).toBe(before);
      return v;
    };
    const want = await grad('cpu');
    const got = await grad('wasm');
    expect(err(got, want)).toBeLessThan(1e-5);
  });
});
