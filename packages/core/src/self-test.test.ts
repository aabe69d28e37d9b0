import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { selfTest } from './self-test.js';

// The adapters' backend self-test (conv / max-pool / depthwise / ReLU, value, gradient and guided gradient) against
// its float64 closed form. The CPU backend is TF.js's reference: its result must agree to float32 rounding.
describe('selfTest', () => {
  it('passes on the cpu backend, to float32 rounding, and leaks no tensors', async () => {
    await tf.setBackend('cpu');
    const before = tf.memory().numTensors;
    const r = await selfTest();
    expect(r).toMatchObject({ ok: true, why: expect.stringMatching(/match the closed form/) });
    expect(r.maxError).toBeLessThan(1e-5);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('fails, naming the output, when a gradient kernel is wrong, and leaks no tensors', async () => {
    await tf.setBackend('cpu');
    const stock = tf.getKernel('Relu', 'cpu')!;
    // A ReLU whose forward leaks negative values (a leaky ReLU with slope 0.5): value and gradients change.
    tf.unregisterKernel('Relu', 'cpu');
    tf.registerKernel({
      kernelName: 'Relu',
      backendName: 'cpu',
      kernelFunc: ({ inputs, backend }) => {
        const cpu = backend as unknown as {
          readSync(id: object): Float32Array;
          makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
        };
        const x = inputs.x as tf.TensorInfo;
        const v = Float32Array.from(cpu.readSync(x.dataId), (a) => (a > 0 ? a : 0.5 * a));
        return cpu.makeTensorInfo(x.shape, 'float32', v);
      },
    });
    const before = tf.memory().numTensors;
    try {
      const r = await selfTest();
      expect(r.ok).toBe(false);
      expect(r.why).toMatch(/^(value|gradient|guided gradient) differs from the closed form by/);
      expect(r.maxError).toBeGreaterThan(1e-2);
    } finally {
      tf.unregisterKernel('Relu', 'cpu');
      tf.registerKernel(stock);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect((await selfTest()).ok).toBe(true);
  });
});
