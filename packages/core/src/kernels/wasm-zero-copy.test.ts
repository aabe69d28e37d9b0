import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { setupBackends } from './test-backends.js';

describe('wasm Identity / Cast share buffers', () => {
  beforeAll(setupBackends);

  it('a clone outlives its source and keeps its values; nothing leaks', async () => {
    await tf.setBackend('wasm');
    const buffers = tf.engine().backend.numDataIds();
    const before = tf.memory().numTensors;
    const x = tf.tensor1d([1, -2, 3.5]);
    const c = tf.clone(x);
    const same = tf.cast(x, 'float32');
    expect(tf.engine().backend.numDataIds()).toBe(buffers + 1);
    x.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, -2, 3.5]);
    expect(Array.from(same.dataSync())).toEqual([1, -2, 3.5]);
    tf.dispose([c, same]);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
  });

  it('casts to another dtype still convert (stock kernel)', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1.7, -2.2, 0]);
    const i = tf.cast(x, 'int32');
    const b = tf.cast(x, 'bool');
    expect(i.dtype).toBe('int32');
    expect(Array.from(i.dataSync())).toEqual([1, -2, 0]);
    expect(Array.from(b.dataSync())).toEqual([1, 1, 0]);
    tf.dispose([x, i, b]);
  });

  it('gradients saved by the engine (clones) stay correct', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([-1, 2, 7]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu6(t), t)))(x);
    // d/dt (relu6(t)·t) = relu6'(t)·t + relu6(t)
    expect(Array.from(g.dataSync())).toEqual([0, 4, 6]);
    tf.dispose([x, g]);
  });
});
