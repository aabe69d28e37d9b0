import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError } from './errors.js';
import { optimizationLoop, run, type Step, type StepResult } from './optimize.js';
import { abortDescentAtStep2, descent } from './test-support/descent.js';
import './register-gradients.js';

function codeOf(e: unknown): string | undefined {
  return CnnvizError.isInstance(e) ? e.code : undefined;
}

describe('optimizationLoop', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('runs the steps, reports losses, frees everything but the final image', async () => {
    const v = tf.variable(tf.zeros([1]));
    const before = tf.memory().numTensors;
    const calls: number[] = [];
    const progress: Step[] = [];
    const steps: Step[] = [];
    for await (const s of optimizationLoop(
      { steps: 4, onProgress: (p) => progress.push(p) },
      descent(v, calls),
    )) {
      steps.push(s);
    }
    expect(calls).toEqual([0, 1, 2, 3]);
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4]);
    expect(steps.every((s) => s.steps === 4)).toBe(true);
    // loss_k = (v_k - 3)^2 = 9 * 0.25^k
    steps.forEach((s, k) => expect(s.loss).toBeCloseTo(9 * 0.25 ** k, 5));
    expect(progress).toEqual(steps);
    expect(steps.slice(0, 3).every((s) => s.image === undefined)).toBe(true);
    const img = steps[3].image as tf.Tensor3D;
    expect(img.shape).toEqual([2, 2, 1]);
    expect(img.dataSync()[0]).toBeCloseTo(3 - 3 * 0.5 ** 4, 5);
    expect(tf.memory().numTensors).toBe(before + 1);
    img.dispose();
    v.dispose();
  });

  it('gives images every imageEvery steps; run() keeps only the last', async () => {
    const v = tf.variable(tf.zeros([1]));
    const before = tf.memory().numTensors;
    const seen: boolean[] = [];
    const last = await run(
      optimizationLoop(
        { steps: 5, imageEvery: 2, onProgress: (s) => seen.push(s.image !== undefined) },
        descent(v, []),
      ),
    );
    expect(seen).toEqual([false, true, false, true, true]);
    expect(last.step).toBe(5);
    expect(tf.memory().numTensors).toBe(before + 1);
    last.image?.dispose();
    v.dispose();
  });

  it('aborts within one step with ABORTED and leaks nothing', async () => {
    const v = tf.variable(tf.zeros([1]));
    const before = tf.memory().numTensors;
    const calls: number[] = [];
    const err = await abortDescentAtStep2(v, calls);
    expect(codeOf(err)).toBe('ABORTED');
    expect(calls).toEqual([0, 1]);
    expect(tf.memory().numTensors).toBe(before);
    v.dispose();
  });

  it('yields to the event loop between steps', async () => {
    const v = tf.variable(tf.zeros([1]));
    let timerFired = false;
    setTimeout(() => (timerFired = true), 0);
    const firedAt: boolean[] = [];
    const step = descent(v, []);
    await run(
      optimizationLoop({ steps: 20 }, (i) => {
        firedAt.push(timerFired);
        return step(i);
      }),
    ).then((s) => s.image?.dispose());
    expect(firedAt[0]).toBe(false);
    expect(firedAt.at(-1)).toBe(true);
    v.dispose();
  });

  it('validates options and frees a failing step', async () => {
    const noop = () => ({ loss: tf.scalar(0) });
    for (const steps of [0, 1.5, -1, Number.NaN, undefined]) {
      let err: unknown;
      try {
        await run(optimizationLoop({ steps: steps as number }, noop));
      } catch (e) {
        err = e;
      }
      expect(codeOf(err)).toBe('BAD_OPTION');
    }
    const before = tf.memory().numTensors;
    await expect(
      run(
        optimizationLoop({ steps: 3 }, () => {
          tf.ones([10]);
          throw new Error('step failed');
        }),
      ),
    ).rejects.toThrow('step failed');
    await expect(run(optimizationLoop({ steps: 1 }, () => ({}) as StepResult))).rejects.toThrow(/loss/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
