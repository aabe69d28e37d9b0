import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError } from '@cnnviz/core';
import { adversarial } from './adversarial.js';
import { forwardPixels } from './model-utils.js';
import { testImage, tinyModel } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('adversarial', () => {
  it('FGSM with epsilon 0 changes nothing', async () => {
    const model = tinyModel({ size: 16 });
    const img = testImage(16, 16);
    const before = tf.memory().numTensors;
    const r = await adversarial(model, img, { method: 'fgsm', epsilon: 0 });
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(r.image, img))).dataSync()[0])).toBe(0);
    expect(r.after.label).toBe(r.before.label);
    r.dispose();
    expect(tf.memory().numTensors).toBe(before);
    img.dispose();
    model.dispose();
  });

  it('FGSM moves each pixel by exactly epsilon (before clipping) along sign(grad CE)', async () => {
    const model = tinyModel({ size: 16 });
    const img = testImage(16, 16);
    const eps = 0.03;
    const r = await adversarial(model, img, { method: 'fgsm', epsilon: eps });
    const label = r.before.label;
    // Reference: the sign of d CE(label) / dx by central finite differences on a few pixels.
    const ce = (x: tf.Tensor3D) =>
      tf.tidy(() => {
        const logits = forwardPixels(model, tf.expandDims(x, 0) as tf.Tensor4D).logits;
        return tf.neg(tf.sum(tf.slice(tf.logSoftmax(logits), [0, label], [1, 1]))).dataSync()[0];
      });
    const x = img.arraySync();
    const adv = r.image.arraySync();
    let checked = 0;
    for (let i = 0; i < 16; i += 3) {
      for (let j = 0; j < 16; j += 3) {
        const k = (i + j) % 3;
        const v = x[i][j][k];
        const moved = adv[i][j][k] - v;
        if (v + eps > 1 || v - eps < 0) continue;
        const h = 1e-2;
        const plus = tf.tidy(() => tf.add(img, tf.scatterND([[i, j, k]], [h], [16, 16, 3]))) as tf.Tensor3D;
        const minus = tf.tidy(() => tf.sub(img, tf.scatterND([[i, j, k]], [h], [16, 16, 3]))) as tf.Tensor3D;
        const fd = (ce(plus) - ce(minus)) / (2 * h);
        plus.dispose();
        minus.dispose();
        if (Math.abs(fd) < 1e-4) continue;
        expect(Math.abs(moved)).toBeCloseTo(eps, 6);
        expect(Math.sign(moved)).toBe(Math.sign(fd));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
    // Every pixel moves by eps or is clipped at 0 or 1.
    const d = tf.tidy(() => {
      const delta = tf.abs(tf.sub(r.image, img));
      const clippedAway = tf.logicalOr(tf.equal(r.image, 0), tf.equal(r.image, 1));
      const ok = tf.logicalOr(
        tf.lessEqual(tf.abs(tf.sub(delta, eps)), 1e-6),
        tf.logicalOr(clippedAway, tf.equal(delta, 0)),
      );
      return tf.all(ok);
    });
    expect(d.dataSync()[0]).toBe(1);
    d.dispose();
    r.dispose();
    img.dispose();
    model.dispose();
  });

  it('PGD stays inside the epsilon ball and inside 0..1, and lowers the true-class probability', async () => {
    const model = tinyModel({ size: 16 });
    const img = testImage(16, 16);
    const eps = 0.05;
    const before = tf.memory().numTensors;
    const r = await adversarial(model, img, { method: 'pgd', epsilon: eps, steps: 8, seed: 3 });
    expect(tf.memory().numTensors).toBe(before + 2);
    const maxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(r.image, img))).dataSync()[0]);
    const range = tf.tidy(() => [tf.min(r.image).dataSync()[0], tf.max(r.image).dataSync()[0]]);
    expect(maxDiff).toBeLessThanOrEqual(eps + 1e-6);
    expect(range[0]).toBeGreaterThanOrEqual(0);
    expect(range[1]).toBeLessThanOrEqual(1);
    // Probability of the original label falls.
    const p = tf.tidy(
      () =>
        tf.softmax(forwardPixels(model, tf.expandDims(r.image, 0) as tf.Tensor4D).logits).dataSync()[
          r.before.label
        ],
    );
    expect(p).toBeLessThan(r.before.prob);
    r.dispose();
    img.dispose();
    model.dispose();
  });

  it('targeted PGD reaches the target on a batch and reports per-image predictions', async () => {
    const model = tinyModel({ size: 16, classes: 3 });
    const imgs = tf.stack([testImage(16, 16, 3, 1), testImage(16, 16, 3, 2)]) as tf.Tensor4D;
    const r = await adversarial(model, imgs, { method: 'pgd', epsilon: 0.3, steps: 20, target: [2, 2] });
    expect(r.after.map((p) => p.label)).toEqual([2, 2]);
    expect(r.image.shape).toEqual([2, 16, 16, 3]);
    r.dispose();
    imgs.dispose();
    model.dispose();
  });

  it('rejects bad input with CnnvizError', async () => {
    const model = tinyModel({ size: 16 });
    const img = testImage(16, 16);
    const bad = async (p: Promise<unknown>, code: string) => {
      await expect(p).rejects.toBeInstanceOf(CnnvizError);
      await expect(p).rejects.toMatchObject({ code });
    };
    await bad(adversarial(model, img, { method: 'pgd', epsilon: -1 }), 'BAD_OPTION');
    await bad(adversarial(model, img, { method: 'pgd', epsilon: 0.1, steps: 0 }), 'BAD_OPTION');
    await bad(adversarial(model, img, { method: 'x' as 'pgd', epsilon: 0.1 }), 'BAD_OPTION');
    await bad(adversarial(model, img, { method: 'fgsm', epsilon: 0.1, target: 9 }), 'BAD_TARGET');
    const gray = tf.zeros([16, 16, 1]) as tf.Tensor3D;
    await bad(adversarial(model, gray, { method: 'fgsm', epsilon: 0.1 }), 'BAD_IMAGE');
    gray.dispose();
    img.dispose();
    model.dispose();
  });

  it('PGD aborts', async () => {
    const model = tinyModel({ size: 16 });
    const img = testImage(16, 16);
    const ctrl = new AbortController();
    const before = tf.memory().numTensors;
    let seen = 0;
    const p = adversarial(model, img, {
      method: 'pgd',
      epsilon: 0.1,
      steps: 50,
      signal: ctrl.signal,
      onProgress: () => {
        seen++;
        if (seen === 2) ctrl.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ code: 'ABORTED' });
    expect(seen).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
    img.dispose();
    model.dispose();
  });
});
