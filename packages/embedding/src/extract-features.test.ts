import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import type { VisionModel } from '@cnnviz/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { extractFeatures } from './extract-features.js';
import { expectCode, normals } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * A two-layer model with known maths: preprocess x -> 2x - 1; layer "conv" = relu(x * [1, -1, 2])
 * per pixel (3 channels from 1); logits = mean over pixels of conv, a rank-2 [N, 3].
 */
function tinyModel(): VisionModel {
  const w = tf.tensor1d([1, -1, 2]);
  return {
    inputShape: [4, 4, 1],
    layers: [
      { name: 'conv', kind: 'Conv2D', outputShape: [4, 4, 3] },
      { name: 'logits', kind: 'Dense', outputShape: [3] },
    ],
    preprocess: (img) =>
      tf.tidy(() => tf.sub(tf.mul(img.rank === 3 ? tf.expandDims(img, 0) : img, 2), 1) as tf.Tensor4D),
    forward: (x, taps = []) => {
      const conv = tf.relu(tf.mul(x, w)) as tf.Tensor4D;
      const logits = tf.mean(conv, [1, 2]) as tf.Tensor2D;
      const activations: Record<string, tf.Tensor> = {};
      if (taps.includes('conv')) activations.conv = conv;
      return { logits, activations };
    },
  };
}

function reference(images: Float32Array[], pooling: 'avg' | 'max' | 'none'): number[][] {
  return images.map((im) => {
    const conv = Array.from(im).map((v) => [1, -1, 2].map((k) => Math.max(0, (2 * v - 1) * k)));
    if (pooling === 'none') return conv.flat();
    return [0, 1, 2].map((c) =>
      pooling === 'avg'
        ? conv.reduce((s, p) => s + p[c], 0) / conv.length
        : Math.max(...conv.map((p) => p[c])),
    );
  });
}

describe('extractFeatures', () => {
  const g = normals(3);
  const raw = Array.from({ length: 5 }, () =>
    Float32Array.from({ length: 16 }, () => Math.min(1, Math.max(0, 0.5 + 0.3 * g()))),
  );

  for (const pooling of ['avg', 'max', 'none'] as const) {
    it(`pools a conv layer (${pooling}) in batches like one pass, leaking nothing`, async () => {
      const model = tinyModel();
      const batch = tf.tensor4d(
        raw.flatMap((r) => Array.from(r)),
        [5, 4, 4, 1],
      );
      const before = tf.memory().numTensors;
      const progress: number[] = [];
      const f = await extractFeatures(model, batch, {
        layer: 'conv',
        pooling,
        batchSize: 2,
        onProgress: (p) => progress.push(p.done),
      });
      expect(tf.memory().numTensors).toBe(before + 1);
      expect(progress).toEqual([2, 4, 5]);
      const ref = reference(raw, pooling);
      expect(f.shape).toEqual([5, ref[0].length]);
      const got = f.arraySync();
      got.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(ref[i][j], 5)));
      f.dispose();
      batch.dispose();
    });
  }

  it('streams an async iterable (disposing its images) and defaults to the logits', async () => {
    const model = tinyModel();
    const before = tf.memory().numTensors;
    async function* images() {
      for (const r of raw) yield tf.tensor3d(r, [4, 4, 1]);
    }
    const f = await extractFeatures(model, images(), { batchSize: 3 });
    expect(tf.memory().numTensors).toBe(before + 1);
    const ref = reference(raw, 'avg');
    f.arraySync().forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(ref[i][j], 5)));
    f.dispose();
    // An array stays the caller's.
    const list = raw.map((r) => tf.tensor3d(r, [4, 4, 1]));
    const f2 = await extractFeatures(model, list, { layer: 'conv' });
    expect(list.every((t) => !t.isDisposed)).toBe(true);
    f2.dispose();
    list.forEach((t) => t.dispose());
  });

  it('rejects bad input and aborts', async () => {
    const model = tinyModel();
    const batch = tf.zeros([2, 4, 4, 1]) as tf.Tensor4D;
    await expectCode(() => extractFeatures(model, batch, { layer: 'con' }), 'UNKNOWN_LAYER', /conv/);
    await expectCode(
      () => extractFeatures(model, batch, { pooling: 'sum' as 'avg' }),
      'BAD_OPTION',
      /pooling/,
    );
    await expectCode(() => extractFeatures(model, batch, { batchSize: 0 }), 'BAD_OPTION', /batchSize/);
    await expectCode(
      () => extractFeatures(model, tf.zeros([2, 4, 4, 3]) as tf.Tensor4D),
      'BAD_IMAGE',
      /channel/,
    );
    await expectCode(
      () => extractFeatures(model, [tf.zeros([4, 4, 1]) as tf.Tensor3D, tf.zeros([5, 4, 1]) as tf.Tensor3D]),
      'BAD_IMAGE',
      /share a size/,
    );
    await expectCode(() => extractFeatures(model, []), 'BAD_IMAGE', /empty/);
    const ctrl = new AbortController();
    ctrl.abort();
    const before = tf.memory().numTensors;
    await expectCode(() => extractFeatures(model, batch, { signal: ctrl.signal }), 'ABORTED');
    expect(tf.memory().numTensors).toBe(before);
    batch.dispose();
  });
});
