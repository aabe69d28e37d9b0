// Aborting any iterative synthesis stops it within the step it is in: ABORTED before another
// progress report, and every tensor it made (parameters, optimiser state, targets) freed.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError, run, type Step } from '@cnnviz/core';
import { adversarial } from './adversarial.js';
import { deepDream } from './deep-dream.js';
import { invertFeatures } from './invert-features.js';
import { trainStyleNetwork } from './style-network/train.js';
import { synthesizeTexture } from './synthesize-texture.js';
import { testImage, tinyModel } from './test-util.js';
import { transferStyle } from './transfer-style.js';
import { visualizeClass } from './visualize-class.js';
import { visualizeUnit } from './visualize-unit.js';

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

type Start = (o: { signal: AbortSignal; onProgress: (s: Step) => void }) => Promise<unknown>;

/**
 * Starts a run and, at its first progress report, schedules abort() one step later: the click
 * lands during the next step, and the run notices it at its next check. Returns the latency from
 * that moment to the rejection, and the duration of one step.
 */
async function abortMidway(start: Start) {
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const ticks: number[] = [];
  let due = 0;
  let aborted = false;
  let after = 0;
  const t0 = performance.now();
  const p = start({
    signal: controller.signal,
    onProgress: () => {
      if (aborted) return void after++;
      ticks.push(performance.now());
      if (ticks.length !== 2) return;
      const step = ticks[1] - ticks[0];
      due = performance.now() + step / 2;
      setTimeout(() => {
        aborted = true;
        controller.abort();
      }, step / 2);
    },
  });
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  const latency = performance.now() - due;
  expect(CnnvizError.isInstance(err) && err.code, String(err)).toBe('ABORTED');
  expect(after).toBeLessThanOrEqual(1);
  expect(tf.memory().numTensors).toBe(before);
  const step = (ticks[ticks.length - 1] - ticks[0]) / Math.max(1, ticks.length - 1) || ticks[0] - t0;
  return { latency, step };
}

describe('cancellation', () => {
  it('every iterative synthesis stops within one step and leaks nothing', async () => {
    const steps = 400;
    const cases: [string, Start][] = [
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
      const { latency, step } = await abortMidway(start);
      rows.push(`| ${name} | ${step.toFixed(1)} | ${latency.toFixed(1)} |`);
      expect(latency, name).toBeLessThan(Math.max(100, 2 * step));
    }
    console.log(['| technique | one step (ms) | abort → rejection (ms) |', ...rows].join('\n'));
  }, 300_000);
});
