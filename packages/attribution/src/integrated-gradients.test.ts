import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { integratedGradients } from './integrated-gradients.js';
import { quadrature } from './quadrature.js';
import { expectClose, expectNoLeak, seeded, seededImage, smallRgbNet, tinyNet } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('quadrature', () => {
  it('Gauss-Legendre matches numpy.polynomial.legendre.leggauss mapped to [0, 1]', () => {
    const { alphas, weights } = quadrature('gausslegendre', 3);
    const r = Math.sqrt(3 / 5);
    expectClose(alphas, [(1 - r) / 2, 0.5, (1 + r) / 2], 1e-12);
    expectClose(weights, [5 / 18, 8 / 18, 5 / 18], 1e-12);
    // Exact for polynomials up to degree 2n-1: integral of t^9 over [0,1] with n = 5.
    const q = quadrature('gausslegendre', 5);
    expect(q.alphas.reduce((s, a, i) => s + q.weights[i] * a ** 9, 0)).toBeCloseTo(0.1, 12);
  });

  it('Riemann rules place their points like Captum and integrate t exactly where they should', () => {
    const t = quadrature('riemann_trapezoid', 5);
    expectClose(t.alphas, [0, 0.25, 0.5, 0.75, 1], 1e-12);
    expect(t.weights.reduce((s, w, i) => s + w * t.alphas[i], 0)).toBeCloseTo(0.5, 12);
    expectClose(quadrature('riemann_left', 4).alphas, [0, 0.25, 0.5, 0.75], 1e-12);
    expectClose(quadrature('riemann_right', 4).alphas, [0.25, 0.5, 0.75, 1], 1e-12);
    expectClose(quadrature('riemann_middle', 4).alphas, [0.125, 0.375, 0.625, 0.875], 1e-12);
  });
});

describe('integratedGradients', () => {
  it('is (x - baseline) * w exactly for a linear model', async () => {
    const w = seeded(48, 3);
    const net = tinyNet(
      [4, 4, 3],
      [
        { type: 'flatten', name: 'flatten' },
        { type: 'dense', name: 'fc', shape: [48, 1], kernel: w, bias: [0.3] },
      ],
    );
    const img = seededImage([4, 4, 3], 8);
    const r = await integratedGradients(net, img, { target: 0, steps: 4, baseline: 0.25 });
    const x = await img.data();
    expectClose(
      await r.raw.data(),
      Array.from(x, (v, i) => (v - 0.25) * w[i]),
      1e-5,
    );
    expect(r.completenessError).toBeLessThan(1e-5);
    r.dispose();
    img.dispose();
    net.dispose();
  });

  it('completeness error < 1 % with 64 steps, Gauss-Legendre and trapezoid, on a smooth conv net', async () => {
    const net = smallRgbNet(12, 8, 'tanh');
    const img = seededImage([8, 8, 3], 13);
    for (const method of ['gausslegendre', 'riemann_trapezoid'] as const) {
      const r = await integratedGradients(net, img, { target: 1, steps: 64, method, internalBatchSize: 20 });
      expect(r.completenessError).toBeLessThan(0.01);
      expect(r.raw.shape).toEqual([8, 8, 3]);
      // The map is the channel sum, so it sums to f(x) - f(baseline) too.
      const total = (await tf.sum(r.map).data())[0];
      const change = total - r.delta[0];
      expect(Math.abs(total - change) / Math.abs(change)).toBeLessThan(0.01);
      r.dispose();
    }
    img.dispose();
    net.dispose();
  });

  it('on a ReLU net (gradient jumps along the path) the error shrinks with more steps', async () => {
    const net = smallRgbNet(12);
    const img = seededImage([8, 8, 3], 13);
    const errors: number[] = [];
    for (const steps of [8, 64, 512]) {
      const r = await integratedGradients(net, img, { target: 1, steps, method: 'riemann_trapezoid' });
      errors.push(r.completenessError);
      r.dispose();
    }
    expect(errors[2]).toBeLessThan(errors[0]);
    expect(errors[2]).toBeLessThan(0.01);
    img.dispose();
    net.dispose();
  });

  it('equals a fine Riemann sum of gradients along the path (the definition)', async () => {
    const net = smallRgbNet(14);
    const img = seededImage([8, 8, 3], 15);
    const baseline = seededImage([8, 8, 3], 16);
    const m = 400;
    const expected = tf.tidy(() => {
      const f = (x: tf.Tensor) =>
        tf.sum(tf.slice(net.forward(net.preprocess(x as tf.Tensor4D)).logits, [0, 2], [-1, 1])) as tf.Scalar;
      const alphas = tf.tensor4d(
        Array.from({ length: m }, (_, i) => (i + 0.5) / m),
        [m, 1, 1, 1],
      );
      const diff = tf.sub(img, baseline);
      const points = tf.add(baseline, tf.mul(alphas, diff));
      return tf.mul(diff, tf.mean(tf.grad(f)(points), 0));
    });
    const r = await integratedGradients(net, img, { target: 2, steps: 64, baseline });
    expectClose(await r.raw.data(), await expected.data(), 2e-3);
    r.dispose();
    tf.dispose([expected, img, baseline]);
    net.dispose();
  });

  it('batches images with per-image targets and baselines; leaks nothing', async () => {
    const net = smallRgbNet(17);
    const imgs = [seededImage([8, 8, 3], 1), seededImage([8, 8, 3], 2)];
    const batch = tf.stack(imgs) as tf.Tensor4D;
    const r = await integratedGradients(net, batch, { target: [0, 3], steps: 16, internalBatchSize: 5 });
    expect(r.map.shape).toEqual([2, 8, 8]);
    expect(r.completenessErrors).toHaveLength(2);
    const second = await integratedGradients(net, imgs[1], { target: 3, steps: 16 });
    const raws = tf.unstack(r.raw);
    expectClose(await raws[1].data(), await second.raw.data(), 1e-5);
    tf.dispose(raws);
    second.dispose();
    r.dispose();
    await expectNoLeak(async () =>
      (await integratedGradients(net, batch, { target: [0, 3], steps: 8, internalBatchSize: 3 })).dispose(),
    );
    tf.dispose([...imgs, batch]);
    net.dispose();
  });
});
