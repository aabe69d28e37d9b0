import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { lbfgs } from './lbfgs.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('lbfgs', () => {
  it('minimises the Rosenbrock function from (-1.2, 1) to (1, 1)', () => {
    const before = tf.memory().numTensors;
    const f = (x: tf.Tensor) =>
      tf.tidy(() => {
        const [a, b] = tf.split(x, 2);
        return tf.sum(
          tf.add(tf.mul(100, tf.square(tf.sub(b, tf.square(a)))), tf.square(tf.sub(1, a))),
        ) as tf.Scalar;
      });
    const x0 = tf.tensor1d([-1.2, 1]);
    const opt = lbfgs(f, x0);
    let loss = Infinity;
    for (let i = 0; i < 100 && loss > 1e-10; i++) {
      const l = opt.step();
      loss = l.dataSync()[0];
      l.dispose();
    }
    const [a, b] = opt.x.dataSync();
    expect(loss).toBeLessThan(1e-8);
    expect(a).toBeCloseTo(1, 3);
    expect(b).toBeCloseTo(1, 3);
    opt.dispose();
    x0.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('solves an ill-conditioned quadratic far faster than steepest descent would', () => {
    // f(x) = 0.5 sum d_i (x_i - t_i)^2 with condition number 1000: exact minimiser t.
    const d = tf.tensor1d(Array.from({ length: 20 }, (_, i) => 10 ** ((3 * i) / 19)));
    const t = tf.tensor1d(Array.from({ length: 20 }, (_, i) => Math.sin(i)));
    const f = (x: tf.Tensor) =>
      tf.tidy(() => tf.mul(0.5, tf.sum(tf.mul(d, tf.square(tf.sub(x, t))))) as tf.Scalar);
    const x0 = tf.zeros([20]);
    const opt = lbfgs(f, x0, { history: 20 });
    for (let i = 0; i < 80; i++) opt.step().dispose();
    const err = tf.tidy(() => tf.max(tf.abs(tf.sub(opt.x, t))).dataSync()[0]);
    expect(err).toBeLessThan(1e-3);
    // Gradient descent with the best fixed step contracts the slowest mode by (k-1)/(k+1) per
    // iteration: after 80 iterations it would still be > 80 % of the way from the answer.
    expect(((1000 - 1) / (1000 + 1)) ** 80).toBeGreaterThan(0.8);
    opt.dispose();
    tf.dispose([d, t, x0]);
  });
});
