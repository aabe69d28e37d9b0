import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError, registerKernelFixes, resize, run, type Step } from '@cnnviz/core';
import { images, zoo, type ZooModel } from '@cnnviz/models';
import { deepDream } from './deep-dream.js';
import { synthesizeTexture } from './synthesize-texture.js';
import { transferStyle } from './transfer-style.js';

// Zoo models carry their default layers as `entry.layersOfInterest`: a technique called without
// layers must use exactly those (same picture as naming them), and fail without them.

let model: ZooModel;
let cat: tf.Tensor3D;
let starry: tf.Tensor3D;

beforeAll(async () => {
  await tf.setBackend('wasm');
  registerKernelFixes('wasm');
  model = await zoo.mobilenetV2Features({ inputSize: 64 });
  cat = resize(await images.load('chelsea'), [48, 48]);
  starry = resize(await images.load('starry_night'), [48, 48]);
});

afterAll(() => {
  tf.dispose([cat, starry]);
  model.dispose?.();
});

/** The last image of a run, as numbers; frees it. */
async function lastImage(it: AsyncGenerator<Step, void, undefined>): Promise<Float32Array> {
  const r = await run(it);
  const img = r.image as tf.Tensor3D;
  const v = (await img.data()) as Float32Array;
  img.dispose();
  return v;
}

/** The model without its zoo entry (same layers and weights). */
const bare = () => ({ ...model, entry: undefined });

const maxDiff = (a: Float32Array, b: Float32Array) =>
  a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('zoo defaults (entry.layersOfInterest)', { timeout: 300_000 }, () => {
  const loi = () => model.entry.layersOfInterest;

  it('deepDream without a layer dreams on the entry dream layers', async () => {
    const opts = { octaves: 1, steps: 2, jitter: 2, seed: 3 };
    const before = tf.memory().numTensors;
    const byDefault = await lastImage(deepDream(model, cat, opts));
    expect(tf.memory().numTensors).toBe(before);
    const named = await lastImage(deepDream(model, cat, { ...opts, layer: loi().dream[0] }));
    const other = await lastImage(deepDream(model, cat, { ...opts, layer: 'block_3_expand_relu' }));
    expect(loi().dream).toHaveLength(1);
    expect(maxDiff(byDefault, named)).toBeLessThan(1e-6);
    // A different layer dreams differently, so the equality above says which layer was used.
    expect(maxDiff(byDefault, other)).toBeGreaterThan(1e-3);
    await expect(run(deepDream(bare(), cat, opts))).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });

  it('synthesizeTexture without layers matches the entry style layers', async () => {
    const opts = { size: 40, steps: 3, seed: 1 };
    const byDefault = await lastImage(synthesizeTexture(model, starry, opts));
    const named = await lastImage(synthesizeTexture(model, starry, { ...opts, layers: loi().style }));
    const other = await lastImage(synthesizeTexture(model, starry, { ...opts, layers: ['Conv1_relu'] }));
    expect(maxDiff(byDefault, named)).toBeLessThan(1e-6);
    expect(maxDiff(byDefault, other)).toBeGreaterThan(1e-3);
    await expect(run(synthesizeTexture(bare(), starry, opts))).rejects.toBeInstanceOf(CnnvizError);
  });

  it('transferStyle without layers uses the entry content and style layers', async () => {
    const styles = [{ image: starry, weight: 1 }];
    const opts = { steps: 3 };
    const before = tf.memory().numTensors;
    const byDefault = await lastImage(transferStyle(model, cat, styles, opts));
    expect(tf.memory().numTensors).toBe(before);
    const named = await lastImage(
      transferStyle(model, cat, styles, { ...opts, contentLayer: loi().content, styleLayers: loi().style }),
    );
    const other = await lastImage(
      transferStyle(model, cat, styles, {
        ...opts,
        contentLayer: loi().content,
        styleLayers: ['Conv1_relu'],
      }),
    );
    expect(maxDiff(byDefault, named)).toBeLessThan(1e-6);
    expect(maxDiff(byDefault, other)).toBeGreaterThan(1e-3);
    await expect(run(transferStyle(bare(), cat, styles, opts))).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
});
