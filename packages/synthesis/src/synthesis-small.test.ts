import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError, run, type Step } from '@cnnviz/core';
import { deepDream } from './deep-dream.js';
import { invertFeatures } from './invert-features.js';
import { synthesizeTexture } from './synthesize-texture.js';
import { transferStyle } from './transfer-style.js';
import { measureStyleLoss } from './losses/targets.js';
import { colorStats } from './color-transfer.js';
import { forwardPixels } from './model-utils.js';
import { testImage, tinyModel } from './test-util.js';

// Fast checks on a tiny random-weight net; the same properties on MobileNetV2 are in synthesis-zoo.test.ts.

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const mse = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.mean(tf.square(tf.sub(a, b))).dataSync()[0]);

async function rejects(p: Promise<unknown>, code: string) {
  await expect(p).rejects.toBeInstanceOf(CnnvizError);
  await expect(p).rejects.toMatchObject({ code });
}

describe('deepDream (tiny net)', () => {
  it('raises the layer objective, keeps the size through octaves, frees everything', async () => {
    const model = tinyModel();
    const img = testImage(32, 40);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    const sizes: number[][] = [];
    const last = await run(
      deepDream(model, img, {
        layer: 'relu2',
        octaves: 3,
        steps: 4,
        jitter: 2,
        imageEvery: 4,
        onProgress: (s) => {
          losses.push(s.loss);
          if (s.image) sizes.push(s.image.shape.slice(0, 2));
        },
      }),
    );
    expect(last.steps).toBe(12);
    const out = last.image as tf.Tensor3D;
    expect(out.shape).toEqual([32, 40, 3]);
    // Octaves grow: 32/1.4^2, 32/1.4, 32.
    expect(sizes).toEqual([
      [16, 20],
      [23, 29],
      [32, 40],
    ]);
    // Within the last octave the objective rises (loss is minus the objective).
    expect(losses[11]).toBeLessThan(losses[8]);
    // The dream is no longer the input, and the layer responds more strongly to it.
    expect(mse(out, img)).toBeGreaterThan(1e-4);
    const l2 = (x: tf.Tensor3D) =>
      tf.tidy(
        () =>
          tf
            .mean(
              tf.square(
                forwardPixels(model, tf.expandDims(x, 0) as tf.Tensor4D, ['relu2']).activations.relu2,
              ),
            )
            .dataSync()[0],
      );
    expect(l2(out)).toBeGreaterThan(l2(img));
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    img.dispose();
    model.dispose();
  });

  it('rejects unknown layers, too small images and bad steps', async () => {
    const model = tinyModel();
    const img = testImage(32, 32);
    const small = testImage(3, 3);
    await rejects(run(deepDream(model, img, { layer: 'relu9' })), 'UNKNOWN_LAYER');
    await rejects(run(deepDream(model, img, { layer: 'relu2', steps: 0 })), 'BAD_OPTION');
    await rejects(run(deepDream(model, small, { layer: 'relu3', octaves: 1 })), 'BAD_IMAGE');
    // relu3 needs 4 px (two 2x2 pools); 8 octaves of 2x shrink 32 px to 1 px.
    await rejects(run(deepDream(model, img, { layer: 'relu3', octaves: 8, octaveScale: 2 })), 'BAD_IMAGE');
    tf.dispose([img, small]);
    model.dispose();
  });
});

describe('invertFeatures (tiny net)', () => {
  it('reconstructs closely from a shallow layer and less closely from a deep one', async () => {
    const model = tinyModel();
    const img = testImage(24, 24);
    const errors: number[] = [];
    for (const layer of ['conv1', 'relu3']) {
      const before = tf.memory().numTensors;
      const r = await run(invertFeatures(model, img, { layer, steps: 60, tv: 0.01, lr: 0.05 }));
      errors.push(mse(r.image as tf.Tensor, img));
      r.image?.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(errors[0]).toBeLessThan(0.01);
    expect(errors[1]).toBeGreaterThan(2 * errors[0]);
    img.dispose();
    model.dispose();
  });
});

describe('synthesizeTexture (tiny net)', () => {
  for (const optimizer of ['adam', 'lbfgs'] as const) {
    it(`lowers the style loss by >= 90 % from noise (${optimizer}), at another size than the source`, async () => {
      const model = tinyModel();
      const tex = testImage(24, 24, 3, 11);
      const layers = ['relu1', 'relu2'];
      expect(await measureStyleLoss(model, tex, tex, layers)).toBeLessThan(1e-10);
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      const r = await run(
        synthesizeTexture(model, tex, {
          layers,
          size: [20, 28],
          steps: optimizer === 'adam' ? 80 : 25,
          optimizer,
          onProgress: (s) => losses.push(s.loss),
        }),
      );
      const out = r.image as tf.Tensor3D;
      expect(out.shape).toEqual([20, 28, 3]);
      const start = losses[0];
      const end = await measureStyleLoss(model, out, tex, layers);
      expect(end).toBeLessThan(0.1 * start);
      out.dispose();
      expect(tf.memory().numTensors).toBe(before);
      tex.dispose();
      model.dispose();
    });
  }
});

/** Largest difference of the RGB means and covariances of two images (pixel units). */
function colorDistance(a: tf.Tensor3D, b: tf.Tensor3D): { mean: number; cov: number } {
  return tf.tidy(() => {
    const sa = colorStats(tf.expandDims(a, 0) as tf.Tensor4D);
    const sb = colorStats(tf.expandDims(b, 0) as tf.Tensor4D);
    const d = (x: tf.Tensor, y: tf.Tensor) => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0];
    return { mean: d(sa.mean, sb.mean), cov: d(sa.cov, sb.cov) };
  });
}

describe('colours (matchColors)', () => {
  it("textures and styled images take the source's RGB mean and covariance; off, they do not", async () => {
    const model = tinyModel();
    // A bluish source and a reddish content image, so colours must move.
    const tex = tf.tidy(() => tf.mul(testImage(24, 24, 3, 11), tf.tensor1d([0.3, 0.5, 1]))) as tf.Tensor3D;
    const content = tf.tidy(() => tf.mul(testImage(24, 24, 3, 5), tf.tensor1d([1, 0.5, 0.3]))) as tf.Tensor3D;
    const opts = { layers: ['relu1', 'relu2'], size: 24, steps: 20 };
    for (const matchColors of [true, false]) {
      const r = await run(synthesizeTexture(model, tex, { ...opts, matchColors }));
      const d = colorDistance(r.image as tf.Tensor3D, tex);
      if (matchColors) {
        // Exact up to the clipping to 0..1 and Newton–Schulz's regulariser.
        expect(d.mean).toBeLessThan(0.02);
        expect(d.cov).toBeLessThan(0.005);
      } else expect(Math.max(d.mean, 10 * d.cov)).toBeGreaterThan(0.02);
      r.image?.dispose();
    }
    const styled = await run(
      transferStyle(model, content, [{ image: tex, weight: 1 }], {
        contentLayer: 'relu2',
        styleLayers: ['relu1'],
        steps: 10,
      }),
    );
    const before = colorDistance(content, tex).mean;
    const after = colorDistance(styled.image as tf.Tensor3D, tex).mean;
    expect(before).toBeGreaterThan(0.1);
    expect(after).toBeLessThan(0.02);
    styled.image?.dispose();
    tf.dispose([tex, content]);
    model.dispose();
  });
});

describe('transferStyle (tiny net)', () => {
  it('moves the style loss down while the content stays recognisable; blends styles by weight', async () => {
    const model = tinyModel();
    const content = testImage(24, 24, 3, 5);
    const s1 = testImage(24, 24, 3, 6);
    const s2 = tf.tidy(() => tf.sub(1, testImage(24, 24, 3, 8))) as tf.Tensor3D;
    const layers = ['relu1', 'relu2'];
    const before = tf.memory().numTensors;
    const steps: Step[] = [];
    const r = await run(
      transferStyle(model, content, [{ image: s1, weight: 1 }], {
        contentLayer: 'relu2',
        styleLayers: layers,
        steps: 30,
        lr: 0.03,
        onProgress: (s) => steps.push(s),
      }),
    );
    const out = r.image as tf.Tensor3D;
    expect(steps[29].loss).toBeLessThan(steps[0].loss);
    expect(await measureStyleLoss(model, out, s1, layers)).toBeLessThan(
      await measureStyleLoss(model, content, s1, layers),
    );
    out.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // A 0/1 blend is the pure style; the 50/50 blend sits between the two pure styles.
    const dist = async (w1: number, w2: number) => {
      const res = await run(
        transferStyle(
          model,
          content,
          [
            { image: s1, weight: w1 },
            { image: s2, weight: w2 },
          ],
          { contentLayer: 'relu2', styleLayers: layers, steps: 30, lr: 0.03, contentWeight: 0, tvWeight: 0 },
        ),
      );
      const im = res.image as tf.Tensor3D;
      const d = [
        await measureStyleLoss(model, im, s1, layers),
        await measureStyleLoss(model, im, s2, layers),
      ];
      im.dispose();
      return d;
    };
    const [a1, a2] = await dist(1, 0);
    const [b1, b2] = await dist(0, 1);
    const [m1, m2] = await dist(1, 1);
    expect(a1).toBeLessThan(b1);
    expect(b2).toBeLessThan(a2);
    expect(m1).toBeGreaterThan(a1);
    expect(m2).toBeGreaterThan(b2);
    tf.dispose([content, s1, s2]);
    model.dispose();
  });

  it('rejects style weights that do not sum to a positive number, unknown layers, tiny images', async () => {
    const model = tinyModel();
    const content = testImage(24, 24);
    const opts = { contentLayer: 'relu3', styleLayers: ['relu1'], steps: 2 };
    await rejects(run(transferStyle(model, content, [{ image: content, weight: 0 }], opts)), 'BAD_OPTION');
    await rejects(
      run(
        transferStyle(
          model,
          content,
          [
            { image: content, weight: -1 },
            { image: content, weight: 0.5 },
          ],
          opts,
        ),
      ),
      'BAD_OPTION',
    );
    await rejects(run(transferStyle(model, content, [], opts)), 'BAD_OPTION');
    await rejects(
      run(transferStyle(model, content, [{ image: content, weight: 1 }], { ...opts, styleLayers: ['nope'] })),
      'UNKNOWN_LAYER',
    );
    await rejects(
      run(transferStyle(model, content, [{ image: content, weight: 1 }], { ...opts, steps: 0 })),
      'BAD_OPTION',
    );
    const tiny = testImage(2, 2);
    await rejects(run(transferStyle(model, tiny, [{ image: content, weight: 1 }], opts)), 'BAD_IMAGE');
    await rejects(run(synthesizeTexture(model, tiny, { layers: ['relu3'] })), 'BAD_IMAGE');
    await rejects(run(synthesizeTexture(model, content, { layers: ['relu3'], size: 2 })), 'BAD_IMAGE');
    await rejects(run(synthesizeTexture(model, content, { layers: ['relu2'], weights: [0] })), 'BAD_OPTION');
    await rejects(run(invertFeatures(model, content, { layer: 'zzz' })), 'UNKNOWN_LAYER');
    await rejects(run(invertFeatures(model, content, { layer: 'relu1', steps: -1 })), 'BAD_OPTION');
    tf.dispose([content, tiny]);
    model.dispose();
  });
});
