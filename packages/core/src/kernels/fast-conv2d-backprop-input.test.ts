import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { convCases } from './conv-cases.test-data.js';
import { setupBackends } from './test-backends.js';
import { kernelOn, randomInput, relErr, seeded } from './test-util.js';

describe('fast Conv2DBackpropInput (wasm)', () => {
  beforeAll(setupBackends);

  it.each(convCases)('matches stock cpu: x $x filter $f stride $s pad $pad', async ({ x: xs, f, s, pad }) => {
    const info = tf.backend_util.computeConv2DInfo(xs, f, s, 1, pad);
    const rng = seeded(23);
    const inputs = { dy: randomInput(info.outShape, rng), filter: randomInput(f, rng) };
    const attrs = { strides: s, pad, dataFormat: 'NHWC', inputShape: xs };
    const want = await kernelOn('cpu', tf.Conv2DBackpropInput, inputs, attrs);
    const got = await kernelOn('wasm', tf.Conv2DBackpropInput, inputs, attrs);
    expect(got.shape).toEqual(xs);
    expect(relErr(got.values, want.values)).toBeLessThan(1e-4);
  });
});
