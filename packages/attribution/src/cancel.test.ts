// Aborting a long attribution stops it within the step it is in: the promise rejects with ABORTED
// before another progress report, and every tensor it made is freed. Latencies are printed.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { images, zoo } from '@cnnviz/models';
import type { VisionModel } from '@cnnviz/core';
import { integratedGradients } from './integrated-gradients.js';
import { occlusion } from './occlusion.js';
import { smoothGrad } from './smooth-grad.js';
import { topPatches } from './top-patches.js';
import { abortMidway, type StartRun } from '../../core/src/test-support/abort-midway.js';

let model: VisionModel;
let bag: tf.Tensor3D;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await zoo.fashionCnn();
  bag = (await images.load('fashion-bag')) as tf.Tensor3D;
});

describe('cancellation', () => {
  it('smoothGrad, integratedGradients, occlusion and topPatches stop within one step, leaking nothing', async () => {
    const batch = tf.stack(Array.from({ length: 8 }, () => bag)) as tf.Tensor4D;
    const cases: [string, StartRun][] = [
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
      const { latency, step } = await abortMidway(name, start);
      rows.push(`| ${name} | ${step.toFixed(0)} | ${latency.toFixed(0)} |`);
      // Within one step: the abort lands at the next check, not after the whole job.
      expect(latency).toBeLessThan(Math.max(100, 2 * step));
    }
    batch.dispose();
    console.log(['| technique | one step (ms) | abort → rejection (ms) |', ...rows].join('\n'));
  }, 120_000);
});
