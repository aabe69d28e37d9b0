// Aborting any iterative synthesis stops it within the step it is in: ABORTED before another
// progress report, and every tensor it made (parameters, optimiser state, targets) freed.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '@cnnviz/core';
import { adversarial } from './adversarial.js';
import { deepDream } from './deep-dream.js';
import { invertFeatures } from './invert-features.js';
import { trainStyleNetwork } from './style-network/train.js';
import { synthesizeTexture } from './synthesize-texture.js';
import { testImage, tinyModel } from './test-util.js';
import { transferStyle } from './transfer-style.js';
import { visualizeClass } from './visualize-class.js';
import { visualizeUnit } from './visualize-unit.js';
import { abortMidway, type StartRun } from '../../core/src/test-support/abort-midway.js';

let model: ReturnType<typeof tinyModel>;
let img: tf.Tensor3D;
let style: tf.Tensor3D;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = tinyModel();
  img = testImage(48, 48, 3, 3);
  style = testImage(48, 48, 3, 4);
});
afterAll(() => {
  tf.dispose([img, style]);
  model.dispose();
});

describe('cancellation', () => {
  it('every iterative synthesis stops within one step and leaks nothing', async () => {
    const steps = 400;
    const cases: [string, StartRun][] = [
      ['visualizeClass', (o) => run(visualizeClass(model, { target: 1, steps, size: 32, ...o }))],
      ['visualizeUnit', (o) => run(visualizeUnit(model, 'relu2:3', { steps, size: 32, ...o }))],
      ['deepDream', (o) => run(deepDream(model, img, { layer: 'relu2', octaves: 2, steps, ...o }))],
      ['invertFeatures', (o) => run(invertFeatures(model, img, { layer: 'relu2', steps, ...o }))],
      [
        'synthesizeTexture',
        (o) =>
          run(synthesizeTexture(model, style, { layers: ['relu1', 'relu2'], size: [32, 32], steps, ...o })),
      ],
      [
        'transferStyle',
        (o) =>
          run(
            transferStyle(model, img, [{ image: style, weight: 1 }], {
              contentLayer: 'relu2',
              styleLayers: ['relu1'],
              steps,
              ...o,
            }),
          ),
      ],
      ['adversarial pgd', (o) => adversarial(model, img, { method: 'pgd', epsilon: 0.05, steps, ...o })],
      [
        'trainStyleNetwork',
        (o) =>
          trainStyleNetwork(model, style, [img], {
            contentLayer: 'relu2',
            styleLayers: ['relu1'],
            size: 32,
            steps,
            width: 4,
            residualBlocks: 1,
            ...o,
          }),
      ],
    ];
    const rows: string[] = [];
    for (const [name, start] of cases) {
      const { latency, step } = await abortMidway(name, start);
      rows.push(`| ${name} | ${step.toFixed(1)} | ${latency.toFixed(1)} |`);
      expect(latency, name).toBeLessThan(Math.max(100, 2 * step));
    }
    console.log(['| technique | one step (ms) | abort → rejection (ms) |', ...rows].join('\n'));
  }, 300_000);
});
