import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { clearKernelFixCaches, kernelFixCacheSize } from './derived-weights.js';
import { setupBackends } from './test-backends.js';
import { randomArray, relErr, seeded } from './test-util.js';

const ATTRS = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', inputShape: [1, 6, 6, 3] };

function backpropInput(dy: tf.Tensor, filter: tf.Tensor): tf.Tensor {
  return tf
    .engine()
    .runKernel(tf.Conv2DBackpropInput, { dy, filter }, ATTRS as unknown as tf.NamedAttrMap) as tf.Tensor;
}

async function cpuBackpropInput(dy: Float32Array, filter: Float32Array): Promise<Float32Array> {
  await tf.setBackend('cpu');
  const r = tf.tidy(() => backpropInput(tf.tensor4d(dy, [1, 6, 6, 4]), tf.tensor4d(filter, [3, 3, 3, 4])));
  const v = r.dataSync() as Float32Array;
  r.dispose();
  await tf.setBackend('wasm');
  return v;
}

describe('derived filter cache (wasm)', () => {
  beforeAll(setupBackends);
  afterEach(() => {
    tf.env().set('IS_TEST', false);
    clearKernelFixCaches();
  });

  it('reuses the flipped filter across calls and frees it once the filter is disposed', async () => {
    await tf.setBackend('wasm');
    clearKernelFixCaches();
    const rng = seeded(1);
    const dyV = randomArray(6 * 6 * 4, rng);
    const wV = randomArray(3 * 3 * 3 * 4, rng);
    const want = await cpuBackpropInput(dyV, wV);
    const buffers = tf.engine().backend.numDataIds();
    const dy = tf.tensor4d(dyV, [1, 6, 6, 4]);
    const w = tf.tensor4d(wV, [3, 3, 3, 4]);
    for (let i = 0; i < 3; i++) {
      const r = backpropInput(dy, w);
      expect(relErr(r.dataSync(), want)).toBeLessThan(1e-5);
      r.dispose();
      expect(kernelFixCacheSize()).toBe(1);
      // dy, w and the one cached derived filter.
      expect(tf.engine().backend.numDataIds()).toBe(buffers + 3);
    }
    w.dispose();
    expect(kernelFixCacheSize()).toBe(0);
    dy.dispose();
    expect(tf.engine().backend.numDataIds()).toBe(buffers);
  });

  it('follows a Variable through assign (new data, new derived filter)', async () => {
    await tf.setBackend('wasm');
    const rng = seeded(2);
    const dyV = randomArray(6 * 6 * 4, rng);
    const w1 = randomArray(3 * 3 * 3 * 4, rng);
    const w2 = randomArray(3 * 3 * 3 * 4, rng);
    const want1 = await cpuBackpropInput(dyV, w1);
    const want2 = await cpuBackpropInput(dyV, w2);
    const dy = tf.tensor4d(dyV, [1, 6, 6, 4]);
    // A variable shares its initial value's buffer: dispose the tensors it was made / assigned from.
    const t1 = tf.tensor4d(w1, [3, 3, 3, 4]);
    const v = tf.variable(t1);
    t1.dispose();
    const r1 = backpropInput(dy, v);
    expect(relErr(r1.dataSync(), want1)).toBeLessThan(1e-5);
    const t2 = tf.tensor4d(w2, [3, 3, 3, 4]);
    v.assign(t2);
    t2.dispose();
    const r2 = backpropInput(dy, v);
    expect(relErr(r2.dataSync(), want2)).toBeLessThan(1e-5);
    expect(kernelFixCacheSize()).toBe(1);
    tf.dispose([dy, v, r1, r2]);
    expect(kernelFixCacheSize()).toBe(0);
  });

  it("does not cache under IS_TEST, so the engine's per-kernel leak audit passes", async () => {
    await tf.setBackend('wasm');
    tf.env().set('IS_TEST', true);
    const dy = tf.ones([1, 6, 6, 4]);
    const w = tf.ones([3, 3, 3, 4]);
    const r = backpropInput(dy, w);
    expect(kernelFixCacheSize()).toBe(0);
    tf.dispose([dy, w, r]);
  });
});
