import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { convCases, type ConvCase } from './conv-cases.test-data.js';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, relErr, seeded } from './test-util.js';

// Strided with >= 16 input channels: one convolution per phase (phases without taps included: 1x1 stride 2).
const perPhaseCases: ConvCase[] = [
  { x: [1, 9, 9, 16], f: [3, 3, 16, 8], s: [2, 2], pad: 'same' },
  { x: [2, 13, 12, 16], f: [3, 3, 16, 4], s: [2, 2], pad: 'valid' },
  { x: [1, 8, 9, 16], f: [1, 1, 16, 3], s: [2, 2], pad: 'same' },
  { x: [1, 10, 11, 20], f: [5, 5, 20, 3], s: [3, 3], pad: 'same' },
  { x: [1, 12, 12, 16], f: [3, 3, 16, 2], s: [4, 4], pad: 'valid' },
  {
    x: [1, 9, 9, 16],
    f: [3, 3, 16, 5],
    s: [2, 2],
    pad: [
      [0, 0],
      [1, 2],
      [2, 0],
      [0, 0],
    ],
  },
];

describe('fast Conv2DBackpropInput (wasm)', () => {
  beforeAll(setupBackends);

  it.each([...convCases, ...perPhaseCases])(
    'matches stock cpu: x $x filter $f stride $s pad $pad',
    async ({ x: xs, f, s, pad }) => {
      const info = tf.backend_util.computeConv2DInfo(xs, f, s, 1, pad);
      const rng = seeded(23);
      const inputs = { dy: randomInput(info.outShape, rng), filter: randomInput(f, rng) };
      const attrs = { strides: s, pad, dataFormat: 'NHWC', inputShape: xs };
      const want = await kernelOn('cpu', tf.Conv2DBackpropInput, inputs, attrs);
      const got = await kernelOn('wasm', tf.Conv2DBackpropInput, inputs, attrs);
      expect(got.shape).toEqual(xs);
      expect(relErr(got.values, want.values)).toBeLessThan(1e-4);
    },
  );
});
