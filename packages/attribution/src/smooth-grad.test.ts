import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { counterNormal } from '@cnnviz/core';
import { saliency } from './saliency.js';
import { smoothGrad } from './smooth-grad.js';
import { expectClose, expectNoLeak, seededImage, smallRgbNet, type TinyNet } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The definition, sample by sample: mean over s of grad f(x + noise_s), noise ~ N(0, (noise*(max-min))²). */
function reference(
  net: TinyNet,
  img: tf.Tensor3D,
  target: number,
  samples: number,
  noise: number,
  seed: number,
  squared: boolean,
  firstRow = 0,
) {
  return tf.tidy(() => {
    const sigma = (tf.max(img).dataSync()[0] - tf.min(img).dataSync()[0]) * noise;
    const f = (x: tf.Tensor) =>
      tf.sum(
        tf.slice(net.forward(net.preprocess(x as tf.Tensor4D)).logits, [0, target], [1, 1]),
      ) as tf.Scalar;
    let sum: tf.Tensor = tf.zerosLike(img);
    for (let s = 0; s < samples; s++) {
      const size = img.size;
      const eps = counterNormal(img.shape, seed, { offset: (firstRow + s) * size });
      const noisy = tf.expandDims(tf.add(img, tf.mul(eps, sigma)), 0);
      const g = tf.squeeze(tf.grad(f)(noisy), [0]);
      sum = tf.add(sum, squared ? tf.square(g) : g);
    }
    return tf.div(sum, samples);
  });
}

describe('smoothGrad', () => {
  it('equals the mean gradient over seeded noisy copies, whatever the internal batch size', async () => {
    const net = smallRgbNet(4);
    const img = seededImage([8, 8, 3], 9);
    const expected = reference(net, img, 2, 6, 0.2, 42, false);
    for (const internalBatchSize of [1, 4, 6]) {
      const r = await smoothGrad(net, img, {
        target: 2,
        samples: 6,
        noise: 0.2,
        seed: 42,
        internalBatchSize,
      });
      expectClose(await r.raw.data(), await expected.data(), 1e-5);
      r.dispose();
    }
    expected.dispose();
    img.dispose();
    net.dispose();
  });

  it('squared variant averages squared gradients', async () => {
    const net = smallRgbNet(4);
    const img = seededImage([8, 8, 3], 9);
    const expected = reference(net, img, 1, 5, 0.1, 3, true);
    const r = await smoothGrad(net, img, { target: 1, samples: 5, noise: 0.1, seed: 3, squared: true });
    expectClose(await r.raw.data(), await expected.data(), 1e-5);
    r.dispose();
    expected.dispose();
    img.dispose();
    net.dispose();
  });

  it('with zero noise equals saliency; different seeds differ', async () => {
    const net = smallRgbNet(5);
    const img = seededImage([8, 8, 3], 10);
    const s = await saliency(net, img, { target: 0 });
    const z = await smoothGrad(net, img, { target: 0, samples: 3, noise: 0 });
    expectClose(await z.raw.data(), await s.raw.data(), 1e-6);
    const a = await smoothGrad(net, img, { target: 0, samples: 3, seed: 1 });
    const b = await smoothGrad(net, img, { target: 0, samples: 3, seed: 2 });
    expect(Array.from(await a.raw.data())).not.toEqual(Array.from(await b.raw.data()));
    [s, z, a, b].forEach((r) => r.dispose());
    img.dispose();
    net.dispose();
  });

  it('batches images, each with its own target and noise scale, and leaks nothing', async () => {
    const net = smallRgbNet(6);
    const imgs = [seededImage([8, 8, 3], 1), tf.mul(seededImage([8, 8, 3], 2), 0.5) as tf.Tensor3D];
    const batch = tf.stack(imgs) as tf.Tensor4D;
    const r = await smoothGrad(net, batch, { target: [3, 1], samples: 4, seed: 7, internalBatchSize: 3 });
    expect(r.map.shape).toEqual([2, 8, 8]);
    const raws = tf.unstack(r.raw);
    // Image 0's noise comes first from the seed's stream; image 1's follows.
    const first = reference(net, imgs[0], 3, 4, 0.15, 7, false);
    const second = reference(net, imgs[1], 1, 4, 0.15, 7, false, 4);
    expectClose(await raws[0].data(), await first.data(), 1e-5);
    expectClose(await raws[1].data(), await second.data(), 1e-5);
    tf.dispose([...raws, first, second]);
    r.dispose();
    await expectNoLeak(async () =>
      (await smoothGrad(net, batch, { target: [3, 1], samples: 3, internalBatchSize: 2 })).dispose(),
    );
    tf.dispose([...imgs, batch]);
    net.dispose();
  });
});
