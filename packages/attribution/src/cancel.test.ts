// Aborting a long attribution stops it within the step it is in: the promise rejects with ABORTED
// before another progress report, and every tensor it made is freed. Latencies are printed.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { images, zoo } from '@cnnviz/models';
import { CnnvizError, type VisionModel } from '@cnnviz/core';
import type { Progress } from './batching.js';
import { integratedGradients } from './integrated-gradients.js';
import { occlusion } from './occlusion.js';
import { smoothGrad } from './smooth-grad.js';
import { topPatches } from './top-patches.js';

let model: VisionModel;
let bag: tf.Tensor3D;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await zoo.fashionCnn();
  bag = (await images.load('fashion-bag')) as tf.Tensor3D;
});

type Start = (o: { signal: AbortSignal; onProgress: (p: Progress) => void }) => Promise<unknown>;

/**
 * Starts a run and, at its first progress report, schedules abort() half a step later (the
 * first step's duration is the estimate): a user's click lands mid-step, and the run notices it at
 * its next check. Returns the latency from that moment to the rejection, and the step duration.
 */
async function abortMidway(start: Start) {
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const t0 = performance.now();
  let due = 0;
  let aborted = false;
  let after = 0;
  const ticks: number[] = [];
  const run = start({
    signal: controller.signal,
    onProgress: () => {
      if (aborted) return void after++;
      ticks.push(performance.now());
      if (ticks.length > 1) return;
      const half = (performance.now() - t0) / 2;
      due = performance.now() + half;
      setTimeout(() => {
        aborted = true;
        controller.abort();
      }, half);
    },
  });
  const err = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  const latency = performance.now() - due;
  expect(CnnvizError.isInstance(err) && err.code, String(err)).toBe('ABORTED');
  expect(after).toBe(0);
  expect(tf.memory().numTensors).toBe(before);
  return { latency, step: (2 * (due - t0)) / 3, ticks };
}

describe('cancellation', () => {
  it('smoothGrad, integratedGradients, occlusion and topPatches stop within one step, leaking nothing', async () => {
    const batch = tf.stack(Array.from({ length: 8 }, () => bag)) as tf.Tensor4D;
    const cases: [string, Start][] = [
      [
        'smoothGrad (50 samples, batches of 5)',
        (o) => smoothGrad(model, bag, { target: 8, samples: 50, internalBatchSize: 5, ...o }),
      ],
      [
        'integratedGradients (64 steps, batches of 8)',
        (o) => integratedGradients(model, bag, { target: 8, steps: 64, internalBatchSize: 8, ...o }),
      ],
      [
        'occlusion (window 4, stride 2, batches of 16)',
        (o) => occlusion(model, bag, { target: 8, window: 4, stride: 2, internalBatchSize: 16, ...o }),
      ],
      [
        'topPatches (8 images, batches of 2)',
        (o) => topPatches(model, batch, { layer: 'conv2', channel: 3, k: 4, internalBatchSize: 2, ...o }),
      ],
    ];
    const rows: string[] = [];
    for (const [name, start] of cases) {
      const { latency, step } = await abortMidway(start);
      rows.push(`| ${name} | ${step.toFixed(0)} | ${latency.toFixed(0)} |`);
      // Within one step: the abort lands at the next check, not after the whole job.
      expect(latency).toBeLessThan(Math.max(100, 2 * step));
    }
    batch.dispose();
    console.log(['| technique | one step (ms) | abort → rejection (ms) |', ...rows].join('\n'));
  }, 120_000);
});
