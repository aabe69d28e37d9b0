import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { convCases } from './conv-cases.test-data.js';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, relErr, seeded } from './test-util.js';

describe('wasm Conv2DBackpropFilter fix', () => {
  beforeAll(setupBackends);

  it.each(convCases)('matches stock cpu: x $x filter $f stride $s pad $pad', async ({ x: xs, f, s, pad }) => {
    const info = tf.backend_util.computeConv2DInfo(xs, f, s, 1, pad);
    const rng = seeded(17);
    const inputs = { x: randomInput(xs, rng), dy: randomInput(info.outShape, rng) };
    const attrs = { strides: s, pad, dataFormat: 'NHWC', filterShape: f };
    const want = await kernelOn('cpu', tf.Conv2DBackpropFilter, inputs, attrs);
    const got = await kernelOn('wasm', tf.Conv2DBackpropFilter, inputs, attrs);
    expect(got.shape).toEqual(f);
    expect(relErr(got.values, want.values)).toBeLessThan(1e-4);
  });
});
