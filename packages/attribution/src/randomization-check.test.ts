import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { VisionModel } from '@cnnviz/core';
import { randomizationCheck } from './randomization-check.js';
import { saliency } from './saliency.js';
import { spearman } from './spearman.js';
import { expectNoLeak, seeded, seededImage, tinyNet } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// A small trained-looking net: smooth first-layer filters (so the map has structure of its own).
const model = () =>
  tinyNet(
    [12, 12, 3],
    [
      {
        type: 'conv',
        name: 'conv1',
        shape: [3, 3, 3, 8],
        kernel: seeded(216, 61, 0.4),
        bias: seeded(8, 62, 0.1),
        padding: 'same',
      },
      { type: 'relu', name: 'relu1' },
      {
        type: 'conv',
        name: 'conv2',
        shape: [3, 3, 8, 8],
        kernel: seeded(576, 63, 0.3),
        bias: seeded(8, 64, 0.1),
        padding: 'same',
        stride: 2,
      },
      { type: 'relu', name: 'relu2' },
      { type: 'flatten', name: 'flat' },
      { type: 'dense', name: 'fc', shape: [288, 4], kernel: seeded(1152, 65, 0.2), bias: seeded(4, 66, 0.1) },
    ],
    (x) => tf.sub(x, 0.5),
  );

async function snapshot(net: ReturnType<typeof model>): Promise<number[][]> {
  return Promise.all(
    Object.values(net.vars)
      .flat()
      .map(async (v) => Array.from(await v.data())),
  );
}

describe('spearman', () => {
  it('is 1 for monotone, -1 for reversed, and averages ties', () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 400])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // scipy.stats.spearmanr([1,2,2,3], [1,3,2,4]).correlation = 0.9486832980505138
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(0.9486832980505138, 12);
  });
});

describe('randomizationCheck', () => {
  it("cascading randomisation from the top drives saliency's rank correlation toward 0, then restores the weights", async () => {
    const net = model();
    const img = seededImage([12, 12, 3], 67);
    const before = await snapshot(net);
    const steps = await randomizationCheck(net, img, 'saliency', { target: 1, seed: 5 });
    expect(steps.map((s) => s.layer)).toEqual(['fc', 'conv2', 'conv1']);
    // Fully randomised, the map has nothing left in common with the original.
    expect(Math.abs(steps[2].spearman)).toBeLessThan(0.3);
    expect(steps[2].spearman).toBeLessThan(0.5 * steps[0].spearman + 0.2);
    expect(await snapshot(net)).toEqual(before);
    // The original map is reproduced exactly afterwards (weights really restored).
    const again = await randomizationCheck(net, img, 'saliency', { target: 1, seed: 5 });
    expect(again).toEqual(steps);
    img.dispose();
    net.dispose();
  });

  it('restores the weights when the technique throws half-way, and leaks nothing', async () => {
    const net = model();
    const img = seededImage([12, 12, 3], 68);
    const before = await snapshot(net);
    let calls = 0;
    const flaky = async (m: VisionModel, image: tf.Tensor3D, options: object) => {
      if (++calls === 3) throw new Error('boom');
      return saliency(m, image, options as never);
    };
    await expect(randomizationCheck(net, img, flaky, { target: 0 })).rejects.toThrow('boom');
    expect(await snapshot(net)).toEqual(before);
    await expectNoLeak(() => randomizationCheck(net, img, 'gradCam', { target: 0, mode: 'independent' }));
    expect(await snapshot(net)).toEqual(before);
    img.dispose();
    net.dispose();
  });
});
