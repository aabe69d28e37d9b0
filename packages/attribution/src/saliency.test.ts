import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { neuron } from '@cnnviz/core';
import { saliency } from './saliency.js';
import { expectClose, expectNoLeak, seededImage, smallRgbNet, type TinyNet } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** d logit[target] / d pixel by central differences, every pixel at once in one batch. */
function finiteDifferences(net: TinyNet, img: tf.Tensor3D, target: number, eps = 1e-2): Float32Array {
  return tf.tidy(() => {
    const size = img.size;
    const flat = img.dataSync();
    const rows = new Float32Array(2 * size * size);
    for (let i = 0; i < size; i++) {
      rows.set(flat, 2 * i * size);
      rows.set(flat, (2 * i + 1) * size);
      rows[2 * i * size + i] += eps;
      rows[(2 * i + 1) * size + i] -= eps;
    }
    const batch = tf.tensor4d(rows, [2 * size, ...img.shape]);
    const logits = net.forward(net.preprocess(batch)).logits.dataSync();
    const k = logits.length / (2 * size);
    return Float32Array.from(
      { length: size },
      (_, i) => (logits[2 * i * k + target] - logits[(2 * i + 1) * k + target]) / (2 * eps),
    );
  });
}

describe('saliency', () => {
  it('raw equals central finite differences of the logit (preprocessing included); map = max |raw| over channels', async () => {
    // tanh keeps the net smooth, so central differences are accurate to O(eps²).
    const net = smallRgbNet(7, 8, 'tanh');
    const img = seededImage([8, 8, 3], 21);
    const r = await saliency(net, img, { target: 3 });
    expect(r.raw.shape).toEqual([8, 8, 3]);
    expect(r.map.shape).toEqual([8, 8]);
    const raw = await r.raw.data();
    expectClose(raw, finiteDifferences(net, img, 3), 5e-4);
    const expectedMap = Array.from({ length: 64 }, (_, p) =>
      Math.max(...[0, 1, 2].map((c) => Math.abs(raw[p * 3 + c]))),
    );
    expectClose(await r.map.data(), expectedMap, 1e-7);
    r.dispose();
    img.dispose();
    net.dispose();
  });

  it('batches: [N,H,W,C] with one target per image gives [N,H,W] maps equal to single calls', async () => {
    const net = smallRgbNet(8, 8, 'tanh');
    const imgs = [seededImage([8, 8, 3], 1), seededImage([8, 8, 3], 2), seededImage([8, 8, 3], 3)];
    const batch = tf.stack(imgs) as tf.Tensor4D;
    const r = await saliency(net, batch, { target: [0, 4, 2], internalBatchSize: 2 });
    expect(r.map.shape).toEqual([3, 8, 8]);
    expect(r.raw.shape).toEqual([3, 8, 8, 3]);
    const raws = tf.unstack(r.raw);
    for (const [i, t] of [0, 4, 2].entries()) {
      const one = await saliency(net, imgs[i], { target: t });
      expectClose(await raws[i].data(), await one.raw.data(), 1e-6);
      expectClose(await raws[i].data(), finiteDifferences(net, imgs[i], t), 5e-4);
      one.dispose();
    }
    tf.dispose(raws);
    r.dispose();
    tf.dispose([...imgs, batch]);
    net.dispose();
  });

  it('takes an objective target: the gradient of one intermediate neuron', async () => {
    const net = smallRgbNet(9);
    const img = seededImage([8, 8, 3], 4);
    const objective = neuron('relu2', 1, 2, 1);
    const r = await saliency(net, img, { target: objective });
    const expected = tf.tidy(() =>
      tf.grad((x: tf.Tensor) =>
        tf.sum(objective.evaluate(net.forward(net.preprocess(x as tf.Tensor4D), ['relu2']))),
      )(tf.expandDims(img, 0)),
    );
    expectClose(await r.raw.data(), await expected.data(), 1e-6);
    expect(Math.max(...(await r.map.data()))).toBeGreaterThan(0);
    expected.dispose();
    r.dispose();
    img.dispose();
    net.dispose();
  });

  it('leaks no tensors', async () => {
    const net = smallRgbNet(2);
    const img = seededImage([8, 8, 3], 5);
    await expectNoLeak(async () => (await saliency(net, img, { target: 1 })).dispose());
    img.dispose();
    net.dispose();
  });
});
