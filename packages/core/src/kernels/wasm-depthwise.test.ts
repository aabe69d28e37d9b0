import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { convCases } from './conv-cases.test-data.js';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, relErr, seeded } from './test-util.js';

// Depthwise filters are [fH, fW, inC, M]: reuse the conv cases with channel multipliers 1 and 2.
const cases = convCases.flatMap((c) =>
  [1, 2].map((m) => ({ ...c, f: [c.f[0], c.f[1], c.x[3], m] as [number, number, number, number], m })),
);

describe('wasm depthwise conv gradient fixes', () => {
  beforeAll(setupBackends);

  it.each(cases)(
    'DepthwiseConv2dNativeBackpropInput matches cpu: x $x filter $f stride $s pad $pad',
    async (c) => {
      const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.pad, undefined, true);
      const rng = seeded(29);
      const inputs = { dy: randomInput(info.outShape, rng), filter: randomInput(c.f, rng) };
      const attrs = { strides: c.s, pad: c.pad, dilations: [1, 1], inputShape: c.x };
      const want = await kernelOn('cpu', tf.DepthwiseConv2dNativeBackpropInput, inputs, attrs);
      const got = await kernelOn('wasm', tf.DepthwiseConv2dNativeBackpropInput, inputs, attrs);
      expect(got.shape).toEqual(c.x);
      expect(relErr(got.values, want.values)).toBeLessThan(1e-4);
    },
  );

  it.each(cases)(
    'DepthwiseConv2dNativeBackpropFilter matches cpu: x $x filter $f stride $s pad $pad',
    async (c) => {
      const info = tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.pad, undefined, true);
      const rng = seeded(31);
      const inputs = { x: randomInput(c.x, rng), dy: randomInput(info.outShape, rng) };
      const attrs = { strides: c.s, pad: c.pad, dilations: [1, 1], filterShape: c.f };
      const want = await kernelOn('cpu', tf.DepthwiseConv2dNativeBackpropFilter, inputs, attrs);
      const got = await kernelOn('wasm', tf.DepthwiseConv2dNativeBackpropFilter, inputs, attrs);
      expect(got.shape).toEqual(c.f);
      expect(relErr(got.values, want.values)).toBeLessThan(1e-4);
    },
  );
});
