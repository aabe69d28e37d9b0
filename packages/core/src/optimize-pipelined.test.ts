import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { CnnvizError } from './errors.js';
import { relErr, webgpuRequirement } from './kernels/webgpu-test-setup.js';
import { optimizationLoop, type Step } from './optimize.js';
import { abortDescentAtStep2, descent } from './test-support/descent.js';
import './register-gradients.js';
import { describeNeeding } from './test-support/needs.js';

// optimizationLoop on webgpu, where step i + 1 is queued before step i's loss is read: the same steps, losses and
// images as the strict order (closed form), an abort that discards the one queued step, and no leaks.

const gpu = await webgpuRequirement();

describeNeeding(gpu, 'optimizationLoop pipelined on webgpu', () => {
  it('gives the strict order’s losses and images (closed form), every imageEvery step, and frees the rest', async () => {
    await tf.setBackend('webgpu');
    const v = tf.variable(tf.zeros([1]));
    const before = tf.memory().numTensors;
    const calls: number[] = [];
    const steps: Step[] = [];
    for await (const s of optimizationLoop({ steps: 5, imageEvery: 2 }, descent(v, calls))) steps.push(s);
    expect(calls).toEqual([0, 1, 2, 3, 4]);
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5]);
    expect(
      relErr(
        steps.map((_, k) => 9 * 0.25 ** k),
        steps.map((s) => s.loss),
      ),
    ).toBeLessThan(1e-6);
    // Each image is the variable right after its own step, though the next step had already been queued.
    for (const k of [2, 4, 5]) {
      const img = steps[k - 1].image as tf.Tensor3D;
      expect((await img.data())[0]).toBeCloseTo(3 - 3 * 0.5 ** k, 5);
    }
    expect(steps.filter((s) => s.image === undefined).map((s) => s.step)).toEqual([1, 3]);
    expect(tf.memory().numTensors).toBe(before + 3);
    steps.forEach((s) => s.image?.dispose());
    v.dispose();
  });

  it('an abort discards the one queued step, and breaking out of the loop frees it too', async () => {
    await tf.setBackend('webgpu');
    const v = tf.variable(tf.zeros([1]));
    const before = tf.memory().numTensors;
    const calls: number[] = [];
    const err = await abortDescentAtStep2(v, calls);
    expect(CnnvizError.isInstance(err) ? err.code : undefined).toBe('ABORTED');
    expect(calls).toEqual([0, 1, 2]);
    expect(tf.memory().numTensors).toBe(before);
    for await (const s of optimizationLoop({ steps: 10, imageEvery: 1 }, descent(v, []))) {
      s.image?.dispose();
      if (s.step === 3) break;
    }
    expect(tf.memory().numTensors).toBe(before);
    v.dispose();
  });
});
