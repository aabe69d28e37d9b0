import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerKernelFixes, resize, run } from '@cnnviz/core';
import { datasets, images, zoo } from '@cnnviz/models';
import { adversarial } from './adversarial.js';
import { deepDream } from './deep-dream.js';
import { invertFeatures } from './invert-features.js';
import { measureStyleLoss } from './losses/targets.js';
import { forwardPixels } from './model-utils.js';
import { synthesizeTexture } from './synthesize-texture.js';
import { applyStyleNetwork } from './style-network/apply.js';
import { loadBundledStyleNetwork } from './style-network/io.js';
import { visualizeClass } from './visualize-class.js';

// The properties on the real zoo models, kept small (tiny sizes, few steps). WASM with
// cnnviz's kernel fixes, the backend these techniques are meant to run on in Node.

beforeAll(async () => {
  await tf.setBackend('wasm');
  registerKernelFixes('wasm');
});

const mse = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.mean(tf.square(tf.sub(a, b))).dataSync()[0]);

describe('fashionCnn', { timeout: 600_000 }, () => {
  it('targeted PGD (eps 0.1) reaches the target class for >= 90 of 100 test images', async () => {
    const model = await zoo.fashionCnn();
    const data = await datasets.fashionMnistTest1k();
    const x = tf.slice(data.images, [0, 0, 0, 0], [100, -1, -1, -1]) as tf.Tensor4D;
    const targets = Array.from(data.labels.slice(0, 100), (l) => (l + 1) % 10);
    const before = tf.memory().numTensors;
    const r = await adversarial(model, x, {
      method: 'pgd',
      epsilon: 0.1,
      target: targets,
      steps: 40,
      stepSize: 0.01,
      restarts: 3,
      seed: 1,
    });
    expect(tf.memory().numTensors).toBe(before + 2);
    const hits = r.after.filter((p, i) => p.label === targets[i]).length;
    expect(hits).toBeGreaterThanOrEqual(90);
    const maxMove = tf.tidy(() => tf.max(tf.abs(tf.sub(r.image, x))).dataSync()[0]);
    expect(maxMove).toBeLessThanOrEqual(0.1 + 1e-6);
    r.dispose();
    tf.dispose([x]);
    data.dispose();
    model.dispose?.();
  });

  it('visualizeClass raises the class logit monotonically on average', async () => {
    const model = await zoo.fashionCnn();
    for (const target of [1, 7]) {
      const losses: number[] = [];
      const r = await run(
        visualizeClass(model, { target, steps: 40, seed: target, onProgress: (s) => losses.push(s.loss) }),
      );
      const windows = [0, 1, 2, 3].map(
        (k) => -losses.slice(10 * k, 10 * k + 10).reduce((a, b) => a + b) / 10,
      );
      for (let k = 1; k < 4; k++) expect(windows[k]).toBeGreaterThan(windows[k - 1]);
      const img = r.image as tf.Tensor3D;
      const logits = tf.tidy(() =>
        Array.from(forwardPixels(model, tf.expandDims(img, 0) as tf.Tensor4D).logits.dataSync()),
      );
      // The picture is classified as the class it was made for.
      expect(logits.indexOf(Math.max(...logits))).toBe(target);
      img.dispose();
    }
    model.dispose?.();
  });
});

describe('MobileNetV2 features', { timeout: 600_000 }, () => {
  it('style loss is 0 for the style image itself; texture synthesis lowers it by >= 90 % from noise', async () => {
    const model = await zoo.mobilenetV2Features({ inputSize: 64 });
    const brick = await images.load('brick');
    const tex = resize(brick, [48, 48]);
    const layers = ['Conv1_relu', 'block_1_expand_relu', 'block_3_expand_relu'];
    expect(await measureStyleLoss(model, tex, tex, layers)).toBeLessThan(1e-8);
    const before = tf.memory().numTensors;
    const losses: number[] = [];
    const r = await run(
      synthesizeTexture(model, tex, {
        layers,
        size: [40, 56],
        steps: 15,
        optimizer: 'lbfgs',
        onProgress: (s) => losses.push(s.loss),
      }),
    );
    const out = r.image as tf.Tensor3D;
    expect(out.shape).toEqual([40, 56, 3]);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(await measureStyleLoss(model, out, tex, layers)).toBeLessThan(0.1 * losses[0]);
    tf.dispose([brick, tex, out]);
    model.dispose?.();
  });

  it('feature inversion error grows with depth', async () => {
    const model = await zoo.mobilenetV2Features({ inputSize: 64 });
    const cat = await images.load('chelsea');
    const img = resize(cat, [48, 48]);
    const errs: number[] = [];
    for (const layer of ['Conv1_relu', 'block_6_expand_relu']) {
      const r = await run(invertFeatures(model, img, { layer, steps: 40, lr: 0.05 }));
      errs.push(mse(r.image as tf.Tensor3D, img));
      r.image?.dispose();
    }
    expect(errs[1]).toBeGreaterThan(1.5 * errs[0]);
    tf.dispose([cat, img]);
    model.dispose?.();
  });

  it('deepDream amplifies its layer through octaves without leaking', async () => {
    const model = await zoo.mobilenetV2Features({ inputSize: 64 });
    const cat = await images.load('chelsea');
    const img = resize(cat, [48, 64]);
    const before = tf.memory().numTensors;
    const r = await run(
      deepDream(model, img, { layer: 'block_3_expand_relu', octaves: 2, steps: 3, jitter: 4 }),
    );
    const out = r.image as tf.Tensor3D;
    expect(out.shape).toEqual([48, 64, 3]);
    expect(tf.memory().numTensors).toBe(before + 1);
    const l2 = (x: tf.Tensor3D) =>
      tf.tidy(
        () =>
          tf
            .mean(
              tf.square(
                forwardPixels(model, tf.expandDims(x, 0) as tf.Tensor4D, ['block_3_expand_relu']).activations
                  .block_3_expand_relu,
              ),
            )
            .dataSync()[0],
      );
    expect(l2(out)).toBeGreaterThan(l2(img));
    tf.dispose([cat, img, out]);
    model.dispose?.();
  });
});

describe('bundled style networks', { timeout: 600_000 }, () => {
  // Fraction of pixels with a channel below 0.02 or above 0.98 in the output but in no channel of
  // the photo: the saturated output sigmoid that painted the old Starry Night network's blotches
  // (3.4-4.9 % of these three photos at 128 x 192; the limit is 1 %).
  const SATURATION_LIMIT = 0.01;
  const saturatedBeyond = (img: tf.Tensor3D, photo: tf.Tensor3D) =>
    tf.tidy(() => {
      const sat = (x: tf.Tensor3D) => tf.any(tf.logicalOr(tf.less(x, 0.02), tf.greater(x, 0.98)), 2);
      return tf.mean(tf.cast(tf.logicalAnd(sat(img), tf.logicalNot(sat(photo))), 'float32')).dataSync()[0];
    });

  it.each(['starry_night', 'scream'] as const)(
    '%s loads and stylises in one pass: same size, changed picture, no saturated blotches, no leak',
    async (name) => {
      const net = await loadBundledStyleNetwork(name);
      for (const photo of ['chelsea', 'astronaut', 'coffee'] as const) {
        const raw = await images.load(photo);
        const img = resize(raw, [128, 192]);
        const before = tf.memory().numTensors;
        const out = applyStyleNetwork(net, img);
        expect(tf.memory().numTensors).toBe(before + 1);
        expect(out.shape).toEqual([128, 192, 3]);
        expect(mse(out, img)).toBeGreaterThan(0.005);
        // Not a constant picture: the content's layout survives (the output still varies over the image).
        const spread = tf.tidy(() => tf.moments(out).variance.dataSync()[0]);
        expect(spread).toBeGreaterThan(1e-3);
        expect(saturatedBeyond(out, img), photo).toBeLessThan(SATURATION_LIMIT);
        tf.dispose([raw, img, out]);
      }
      net.dispose();
    },
  );
});
