import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type PadSpec } from './conv-cases.test-data.js';
import { kernelFixCacheSize } from './derived-weights.js';
import { directConv2dF64 as reference, type ReferenceActivation } from './direct-conv.test-data.js';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomArray, relErr as err, seeded } from './test-util.js';
import { planGemmBackpropInput, planGemmConv } from './wasm-gemm-conv2d.js';

interface Case {
  name: string;
  shape: [number, number, number, number];
  filter: [number, number];
  k: number;
  pad: PadSpec;
  strides?: number | [number, number];
  dilations?: number;
  act?: ReferenceActivation;
  bias?: boolean;
}

const cases: Case[] = [
  {
    name: '1x1, read in place',
    shape: [2, 5, 6, 5],
    filter: [1, 1],
    k: 12,
    pad: 'valid',
    act: 'relu6',
    bias: true,
  },
  { name: '1x1 stride 2', shape: [1, 7, 7, 8], filter: [1, 1], k: 8, pad: 'same', strides: 2 },
  {
    name: '3x3 stride 2 valid',
    shape: [1, 13, 11, 12],
    filter: [3, 3],
    k: 20,
    pad: 'valid',
    strides: 2,
    bias: true,
  },
  {
    name: '3x3 stride 2 same',
    shape: [1, 12, 9, 8],
    filter: [3, 3],
    k: 4,
    pad: 'same',
    strides: 2,
    act: 'relu',
  },
  {
    name: '2x2, explicit pads (a sub-pixel phase)',
    shape: [1, 6, 5, 8],
    filter: [2, 2],
    k: 16,
    pad: [
      [0, 0],
      [1, 0],
      [1, 1],
      [0, 0],
    ],
  },
  {
    name: '1x1, padding wider than the filter (whole windows outside)',
    shape: [1, 4, 5, 8],
    filter: [1, 1],
    k: 4,
    pad: [
      [0, 0],
      [2, 2],
      [3, 3],
      [0, 0],
    ],
  },
  { name: '1x7 same', shape: [1, 9, 10, 8], filter: [1, 7], k: 8, pad: 'same' },
  { name: '3x3 dilation 2', shape: [1, 10, 9, 8], filter: [3, 3], k: 4, pad: 'same', dilations: 2 },
  {
    name: '3x3, 8 channels, strides 2 x 1',
    shape: [1, 9, 9, 8],
    filter: [3, 3],
    k: 12,
    pad: 'same',
    strides: [2, 1],
  },
];

describe('wasm convolution as one matrix product', () => {
  beforeAll(setupBackends);

  it.each(cases)('matches a float64 direct convolution: $name', async (c) => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const rng = seeded(c.shape.reduce((a, b) => a * 7 + b, c.k));
    const [n, h, w, ch] = c.shape;
    const [fh, fw] = c.filter;
    const xv = randomArray(n * h * w * ch, rng, -2, 2);
    const fv = randomArray(fh * fw * ch * c.k, rng);
    const bv = c.bias ? randomArray(c.k, rng, -3, 3) : undefined;
    const act = c.act ?? 'linear';
    const want = reference(xv, c.shape, fv, c.k, c.pad, bv, act, c.filter, c.strides ?? 1, c.dilations ?? 1);

    kernelFixCacheSize();
    const before = backend.numDataIds();
    const x = tf.tensor(xv, c.shape);
    const filter = tf.tensor(fv, [fh, fw, ch, c.k]);
    const bias = bv !== undefined ? tf.tensor(bv, [c.k]) : undefined;
    const attrs = { strides: c.strides ?? 1, pad: c.pad, dilations: c.dilations ?? 1, activation: act };
    const plan = planGemmConv(backend, { x, filter, bias, attrs: attrs as unknown as tf.Conv2DAttrs });
    if (plan === undefined) throw new Error('did not apply');
    const y = plan.run();
    expect(y.shape).toEqual(want.shape);
    expect(err(backend.readSync(y.dataId) as Float32Array, want.values)).toBeLessThan(1e-6);
    backend.disposeData(y.dataId, true);
    tf.dispose([x, filter, ...(bias !== undefined ? [bias] : [])]);
    // The packed filter goes with the filter, the patch matrix and the row counter with the call.
    kernelFixCacheSize();
    expect(backend.numDataIds()).toBe(before);
  });

  it('declines what it does not compute: K not a multiple of 4, NCHW, leaky ReLU, int32, a 3-channel patch matrix', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const x = tf.zeros([1, 4, 4, 4]);
    const f6 = tf.zeros([1, 1, 4, 6]);
    const f8 = tf.zeros([1, 1, 4, 8]);
    const xi = tf.zeros([1, 4, 4, 4], 'int32');
    const plan = (xx: tf.Tensor, f: tf.Tensor, attrs: Record<string, unknown>) =>
      planGemmConv(backend, {
        x: xx,
        filter: f,
        attrs: { strides: 1, pad: 'valid', ...attrs } as tf.Conv2DAttrs,
      });
    expect(plan(x, f8, {})).toBeDefined();
    expect(plan(x, f6, {})).toBeUndefined();
    const rgb = tf.zeros([1, 8, 8, 3]);
    const f3 = tf.zeros([3, 3, 3, 8]);
    const f1 = tf.zeros([1, 1, 3, 8]);
    expect(plan(rgb, f3, {})).toBeUndefined();
    expect(plan(rgb, f1, {})).toBeDefined(); // read in place: no patch matrix
    tf.dispose([rgb, f3, f1]);
    expect(plan(x, f8, { dataFormat: 'NCHW' })).toBeUndefined();
    expect(plan(x, f8, { activation: 'leakyrelu' })).toBeUndefined();
    expect(plan(xi, f8, {})).toBeUndefined();
    tf.dispose([x, f6, f8, xi]);
  });

  it('runs in the registered FusedConv2D on a stride-2 convolution (one thread in tests: no timing), matching cpu', async () => {
    const rng = seeded(9);
    const inputs = {
      x: { values: randomArray(1 * 15 * 15 * 16, rng), shape: [1, 15, 15, 16] },
      filter: { values: randomArray(3 * 3 * 16 * 24, rng), shape: [3, 3, 16, 24] },
      bias: { values: randomArray(24, rng), shape: [24] },
    };
    const attrs = { strides: 2, pad: 'valid', dataFormat: 'NHWC', dilations: 1, activation: 'relu' };
    const want = await kernelOn('cpu', tf.FusedConv2D, inputs, attrs);
    // Twice on wasm: the first call packs the filter, the second reuses it.
    for (let i = 0; i < 2; i++) {
      const got = await kernelOn('wasm', tf.FusedConv2D, inputs, attrs);
      expect(got.shape).toEqual([1, 7, 7, 24]);
      expect(err(got.values, want.values)).toBeLessThan(1e-5);
    }
  });

  it.each([
    { x: [1, 13, 13, 8], f: [3, 3, 8, 12], strides: 2, pad: 'valid' },
    { x: [2, 12, 11, 4], f: [3, 3, 4, 8], strides: 2, pad: 'same' },
    { x: [1, 10, 10, 16], f: [5, 5, 16, 4], strides: 3, pad: 'same' },
    // Wᵀ 64 x 1152 (295 KB) by rows; 256 x 1152 (1.2 MB) by column panels.
    { x: [1, 9, 9, 128], f: [3, 3, 128, 256], strides: 2, pad: 'same' },
  ] as const)(
    'input gradient as one product and a scatter matches cpu: x $x, filter $f, stride $strides, $pad',
    async (c) => {
      const rng = seeded(c.x[1] * 31 + c.f[3]);
      const info = tf.backend_util.computeConv2DInfo(
        c.x as unknown as [number, number, number, number],
        c.f as unknown as [number, number, number, number],
        c.strides,
        1,
        c.pad,
      );
      const dyShape = [c.x[0], info.outHeight, info.outWidth, c.f[3]];
      const dyv = randomArray(tf.util.sizeFromShape(dyShape), rng);
      const fv = randomArray(tf.util.sizeFromShape(c.f as unknown as number[]), rng);
      await tf.setBackend('cpu');
      const want = tf.tidy(() =>
        tf
          .conv2dTranspose(
            tf.tensor4d(dyv, dyShape as [number, number, number, number]),
            tf.tensor4d(fv, [...c.f]),
            [...c.x] as [number, number, number, number],
            c.strides,
            c.pad,
          )
          .dataSync(),
      );
      await tf.setBackend('wasm');
      const backend = tf.backend();
      kernelFixCacheSize();
      const before = backend.numDataIds();
      const dy = tf.tensor4d(dyv, dyShape as [number, number, number, number]);
      const filter = tf.tensor4d(fv, [...c.f]);
      const plan = planGemmBackpropInput(backend, dy, filter, info);
      if (plan === undefined) throw new Error('did not apply');
      const y = plan.run();
      expect(y.shape).toEqual([...c.x]);
      expect(err(backend.readSync(y.dataId) as Float32Array, want)).toBeLessThan(1e-5);
      backend.disposeData(y.dataId, true);
      tf.dispose([dy, filter]);
      kernelFixCacheSize();
      expect(backend.numDataIds()).toBe(before);
    },
  );
});
