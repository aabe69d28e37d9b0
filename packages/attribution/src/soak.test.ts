// Long runs and concurrency on the bundled fashionCnn: 1,000 calls of each technique keep the
// tensor count constant and the results identical; calls running side by side (guided backprop's
// gradient override included) give the same bytes as the same calls one after another.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { images, zoo } from '@cnnviz/models';
import type { VisionModel } from '@cnnviz/core';
import { gradCam } from './grad-cam.js';
import { guidedBackprop } from './guided-backprop.js';
import { integratedGradients } from './integrated-gradients.js';
import type { Attribution, BatchAttribution } from './result.js';
import { saliency } from './saliency.js';
import { smoothGrad } from './smooth-grad.js';

/** Calls per technique; CNNVIZ_SOAK_CALLS lowers it for a quick local run. */
const CALLS = Number(process.env.CNNVIZ_SOAK_CALLS ?? 1000);
let model: VisionModel;
let bag: tf.Tensor3D;
let shirt: tf.Tensor3D;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await zoo.fashionCnn();
  bag = (await images.load('fashion-bag')) as tf.Tensor3D;
  shirt = (await images.load('fashion-shirt')) as tf.Tensor3D;
});

async function bytes(r: Attribution | BatchAttribution): Promise<Float32Array[]> {
  const out = [(await r.raw.data()) as Float32Array, (await r.map.data()) as Float32Array];
  r.dispose();
  return out;
}

describe('long runs', () => {
  it(`${CALLS} calls each of saliency, Grad-CAM and guided backprop: constant tensor count, identical results`, async () => {
    const techniques: [string, () => Promise<Attribution>][] = [
      ['saliency', () => saliency(model, bag, { target: 8 })],
      ['gradCam', () => gradCam(model, bag, { target: 8, layer: 'conv3' })],
      ['guidedBackprop', () => guidedBackprop(model, bag, { target: 8 })],
    ];
    const first: Float32Array[][] = [];
    for (const [, f] of techniques) first.push(await bytes(await f()));
    const settled = tf.memory().numTensors;
    const counts: number[] = [];
    for (let i = 1; i < CALLS; i++) {
      for (const [, f] of techniques) (await f()).dispose();
      if (i % 100 === 0) counts.push(tf.memory().numTensors);
    }
    expect(counts.every((c) => c === settled)).toBe(true);
    expect(tf.memory().numTensors).toBe(settled);
    for (const [k, [name, f]] of techniques.entries()) {
      const last = await bytes(await f());
      expect(last, name).toEqual(first[k]);
    }
  }, 900_000);
});

describe('concurrent calls', () => {
  it('Promise.all of mixed techniques, with and without the guided override, equals the sequential run', async () => {
    const before = tf.memory().numTensors;
    const batch = tf.stack([bag, shirt, bag, shirt]) as tf.Tensor4D;
    // internalBatchSize 1: every call awaits between images, so the calls interleave at each await.
    const one = { internalBatchSize: 1 };
    const calls: (() => Promise<Attribution | BatchAttribution>)[] = [
      () => guidedBackprop(model, batch, { target: 8, ...one }),
      () => saliency(model, batch, { target: 8, ...one }),
      () => gradCam(model, batch, { target: 6, layer: 'conv2', ...one }),
      () => smoothGrad(model, bag, { target: 8, samples: 6, seed: 3, ...one }),
      () => guidedBackprop(model, shirt, { target: 6 }),
      () => integratedGradients(model, shirt, { target: 6, steps: 8, ...one }),
      () => saliency(model, shirt, { target: 6 }),
    ];
    const sequential: Float32Array[][] = [];
    for (const c of calls) sequential.push(await bytes(await c()));
    const together = await Promise.all(calls.map(async (c) => bytes(await c())));
    // Twice more, in reverse start order, so different pairs overlap.
    const reversed = await Promise.all([...calls].reverse().map(async (c) => bytes(await c())));
    for (let k = 0; k < calls.length; k++) {
      expect(together[k], `call ${k}`).toEqual(sequential[k]);
      expect(reversed[calls.length - 1 - k], `call ${k} reversed`).toEqual(sequential[k]);
    }
    // The override really changes the result (so equality above is not trivially true).
    expect(sequential[0][0]).not.toEqual(sequential[1][0]);
    batch.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 300_000);
});
