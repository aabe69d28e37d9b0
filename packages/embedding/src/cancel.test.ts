// Aborting t-SNE, kNN or feature extraction stops it within the step it is in (a report interval,
// a block of rows, a batch of images): ABORTED, and no tensor left behind.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { zoo } from '@cnnviz/models';
import { createRng, type VisionModel } from '@cnnviz/core';
import { extractFeatures } from './extract-features.js';
import { knn } from './knn.js';
import { tsne } from './tsne.js';
import { clusteredData } from './test-util.js';
import { abortMidway, type StartRun } from '../../core/src/test-support/abort-midway.js';

let model: VisionModel;
beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await zoo.fashionCnn();
});

describe('cancellation', () => {
  it('tsne, knn and extractFeatures stop within one step and leak nothing', async () => {
    const { rows } = clusteredData(1500, 10, 5, 3);
    const rng = createRng(5);
    const pics = tf.tidy(() =>
      tf.randomUniform([256, 28, 28, 1], 0, 1, 'float32', Math.floor(rng() * 1e6)),
    ) as tf.Tensor4D;
    const big = clusteredData(6000, 64, 8, 4).rows;
    const cases: [string, StartRun][] = [
      [
        'tsne (1,500 points, report every 10 iterations)',
        (o) => tsne(rows, { iterations: 1000, reportEvery: 10, ...o }),
      ],
      ['knn (6,000 x 64, self)', (o) => knn(big, big, { k: 10, threads: 1, ...o })],
      [
        'extractFeatures (256 images, batches of 16)',
        (o) => extractFeatures(model, pics, { layer: 'conv3', batchSize: 16, ...o }),
      ],
    ];
    const rows2: string[] = [];
    for (const [name, start] of cases) {
      const { latency, step } = await abortMidway(name, start);
      rows2.push(`| ${name} | ${step.toFixed(1)} | ${latency.toFixed(1)} |`);
      expect(latency, name).toBeLessThan(Math.max(100, 2 * step));
    }
    pics.dispose();
    console.log(['| technique | one step (ms) | abort → rejection (ms) |', ...rows2].join('\n'));
  }, 300_000);
});
