import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerKernelFixes, unregisterKernelFixes } from './index.js';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, relErr, seeded } from './test-util.js';

// Rotation by 0.3 rad and zoom 1.1 about the centre of a 9x11 image, a projective warp, and a per-image pair.
const rot = (h: number, w: number) => {
  const a = 0.3;
  const s = 1.1;
  const [c0, s0] = [Math.cos(a) / s, Math.sin(a) / s];
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  return [c0, -s0, cx - c0 * cx + s0 * cy, s0, c0, cy - s0 * cx - c0 * cy, 0, 0];
};
const cases: Array<{
  shape: number[];
  transforms: number[];
  tShape: number[];
  interpolation: 'bilinear' | 'nearest';
  fillMode: 'constant' | 'reflect' | 'wrap' | 'nearest';
  outputShape?: [number, number];
}> = [
  {
    shape: [1, 9, 11, 3],
    transforms: rot(9, 11),
    tShape: [1, 8],
    interpolation: 'bilinear',
    fillMode: 'constant',
  },
  {
    shape: [1, 9, 11, 3],
    transforms: rot(9, 11),
    tShape: [1, 8],
    interpolation: 'bilinear',
    fillMode: 'reflect',
  },
  {
    shape: [1, 9, 11, 2],
    transforms: rot(9, 11),
    tShape: [1, 8],
    interpolation: 'bilinear',
    fillMode: 'wrap',
  },
  {
    shape: [1, 9, 11, 1],
    transforms: rot(9, 11),
    tShape: [1, 8],
    interpolation: 'nearest',
    fillMode: 'nearest',
  },
];
// tfjs-backend-cpu returns after the first image of a batch, so batches are checked against the stock wasm kernel.
const batches: typeof cases = [
  {
    shape: [2, 7, 6, 3],
    transforms: [1.2, 0.1, -1.5, -0.2, 0.9, 2.3, 0.01, -0.02, 0.8, 0, 1, 0, 1.1, -0.5, 0, 0],
    tShape: [2, 8],
    interpolation: 'bilinear',
    fillMode: 'constant',
    outputShape: [5, 8],
  },
];

/** A random image and the Transform inputs and attrs of a case (fill value 0.5). */
function kernelCall(c: (typeof cases)[number], seed: number) {
  const image = randomInput(c.shape, seeded(seed), -2, 2);
  return {
    inputs: { image, transforms: { values: c.transforms, shape: c.tShape } },
    attrs: {
      interpolation: c.interpolation,
      fillMode: c.fillMode,
      fillValue: 0.5,
      outputShape: c.outputShape ?? null,
    },
  };
}

describe('wasm Transform fix', () => {
  beforeAll(setupBackends);

  it.each(cases)('matches cpu: $shape $interpolation fill $fillMode', async (c) => {
    const { inputs, attrs } = kernelCall(c, 3);
    const want = await kernelOn('cpu', tf.Transform, inputs, attrs);
    const got = await kernelOn('wasm', tf.Transform, inputs, attrs);
    expect(got.shape).toEqual(want.shape);
    expect(relErr(got.values, want.values)).toBeLessThan(1e-6);
  });

  it.each(batches)(
    'matches the stock wasm kernel: $shape $interpolation fill $fillMode out $outputShape',
    async (c) => {
      const { inputs, attrs } = kernelCall(c, 4);
      const got = await kernelOn('wasm', tf.Transform, inputs, attrs);
      unregisterKernelFixes('wasm');
      try {
        const want = await kernelOn('wasm', tf.Transform, inputs, attrs);
        expect(got.shape).toEqual(want.shape);
        expect(relErr(got.values, want.values)).toBeLessThan(1e-5);
      } finally {
        registerKernelFixes('wasm');
      }
    },
  );
});
