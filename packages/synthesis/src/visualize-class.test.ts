import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError, run, type Step } from '@cnnviz/core';
import { visualizeClass } from './visualize-class.js';
import { forwardPixels } from './model-utils.js';
import { tinyModel } from './test-util.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const logitOf = (model: ReturnType<typeof tinyModel>, img: tf.Tensor3D, k: number) =>
  tf.tidy(() => forwardPixels(model, tf.expandDims(img, 0) as tf.Tensor4D).logits.dataSync()[k]);

describe('visualizeClass', () => {
  it('raises the class logit monotonically on average (both parameterisations) without leaking', async () => {
    const model = tinyModel({ size: 24, classes: 3 });
    for (const param of ['pixel', 'fourier'] as const) {
      const before = tf.memory().numTensors;
      const losses: number[] = [];
      const last = await run(
        visualizeClass(model, {
          target: 1,
          steps: 40,
          param,
          seed: 2,
          onProgress: (s) => losses.push(s.loss),
        }),
      );
      expect(last.step).toBe(40);
      const img = last.image as tf.Tensor3D;
      expect(img.shape).toEqual([24, 24, 3]);
      expect(tf.memory().numTensors).toBe(before + 1);
      // Mean logit (= -loss) over windows of 10 steps rises window by window.
      const windows = [0, 1, 2, 3].map(
        (k) => -losses.slice(k * 10, k * 10 + 10).reduce((a, b) => a + b, 0) / 10,
      );
      for (let k = 1; k < windows.length; k++) expect(windows[k]).toBeGreaterThan(windows[k - 1]);
      // The final picture scores higher than mid-grey.
      const grey = tf.fill([24, 24, 3], 0.5) as tf.Tensor3D;
      expect(logitOf(model, img, 1)).toBeGreaterThan(logitOf(model, grey, 1));
      const [lo, hi] = tf.tidy(() => [tf.min(img).dataSync()[0], tf.max(img).dataSync()[0]]);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      tf.dispose([grey, img]);
      expect(tf.memory().numTensors).toBe(before);
    }
    model.dispose();
  });

  it('regularisers act: clipValue greys out pixels, blurEvery smooths', async () => {
    const model = tinyModel({ size: 24, classes: 3 });
    const last = await run(visualizeClass(model, { target: 0, steps: 5, clipValue: 0.5, seed: 1 }));
    const img = last.image as tf.Tensor3D;
    const grey = tf.tidy(() => tf.sum(tf.cast(tf.all(tf.equal(img, 0.5), 2), 'float32')).dataSync()[0]);
    expect(grey).toBeGreaterThanOrEqual(0.5 * 24 * 24 - 1);
    img.dispose();
    // Blurring every step leaves a smoother picture than never blurring.
    const tv = async (blurEvery: number) => {
      const r = await run(
        visualizeClass(model, { target: 0, steps: 10, blurEvery, blurSigma: 1.5, seed: 1 }),
      );
      const im = r.image as tf.Tensor3D;
      const v = tf.tidy(
        () =>
          tf
            .mean(
              tf.square(tf.sub(tf.slice(im, [0, 1, 0], [24, 23, 3]), tf.slice(im, [0, 0, 0], [24, 23, 3]))),
            )
            .dataSync()[0],
      );
      im.dispose();
      return v;
    };
    expect(await tv(1)).toBeLessThan(0.5 * (await tv(0)));
    model.dispose();
  });

  it('init: starts from (and decays towards) a given image; frees it', async () => {
    const model = tinyModel({ size: 16, classes: 3 });
    const start = tf.tidy(() =>
      tf.mul(tf.ones([16, 16, 3]), tf.reshape(tf.linspace(0, 1, 16), [1, 16, 1])),
    ) as tf.Tensor3D;
    const before = tf.memory().numTensors;
    // One tiny step: the picture is still the init image, not mid-grey.
    const r = await run(
      visualizeClass(model, { target: 0, steps: 1, lr: 1e-4, init: start, jitter: 0, blurEvery: 0 }),
    );
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(r.image as tf.Tensor3D, start))).dataSync()[0])).toBeLessThan(
      0.05,
    );
    tf.dispose([r.image as tf.Tensor3D, start]);
    model.dispose();
  });

  it('stops within one step of an abort and frees everything', async () => {
    const model = tinyModel({ size: 24, classes: 3 });
    const ctrl = new AbortController();
    const before = tf.memory().numTensors;
    const seen: Step[] = [];
    const it = visualizeClass(model, { target: 0, steps: 100, signal: ctrl.signal });
    await expect(
      (async () => {
        for await (const s of it) {
          seen.push(s);
          if (s.step === 3) ctrl.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: 'ABORTED' });
    expect(seen.length).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('rejects bad input with CnnvizError', async () => {
    const model = tinyModel({ size: null, classes: 3 });
    const bad = async (opts: Parameters<typeof visualizeClass>[1], code: string) => {
      const p = run(visualizeClass(model, opts));
      await expect(p).rejects.toBeInstanceOf(CnnvizError);
      await expect(p).rejects.toMatchObject({ code });
    };
    await bad({ target: 0, steps: 0 }, 'BAD_OPTION');
    await bad({ target: 0, steps: -3 }, 'BAD_OPTION');
    await bad({ target: 7 }, 'BAD_TARGET');
    await bad({ target: 0, size: 2 }, 'BAD_IMAGE');
    await bad({ target: 0, param: 'x' as 'pixel' }, 'BAD_OPTION');
    const wrong = tf.zeros([8, 8, 3]) as tf.Tensor3D;
    await bad({ target: 0, size: 16, init: wrong }, 'BAD_IMAGE');
    await bad({ target: 0, init: 2 }, 'BAD_OPTION');
    wrong.dispose();
    model.dispose();
  });
});
