// 200 style-transfer steps on the bundled fashionCnn: the tensor count stays constant from step to
// step (nothing accumulates in the loop) and returns to where it started.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { images, zoo } from '@cnnviz/models';
import type { VisionModel } from '@cnnviz/core';
import { transferStyle } from './transfer-style.js';

let model: VisionModel;
let content: tf.Tensor3D;
let style: tf.Tensor3D;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = await zoo.fashionCnn();
  content = (await images.load('fashion-shirt')) as tf.Tensor3D;
  style = (await images.load('fashion-sneaker')) as tf.Tensor3D;
});

describe('long runs', () => {
  it('200 style steps keep tf.memory().numTensors constant and free everything at the end', async () => {
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const losses: number[] = [];
    let last: tf.Tensor | undefined;
    for await (const s of transferStyle(model, content, [{ image: style, weight: 1 }], {
      contentLayer: 'conv3',
      styleLayers: ['conv1', 'conv2'],
      steps: 200,
      imageEvery: 50,
    })) {
      if (s.image && s.image !== last) {
        last?.dispose();
        last = s.image;
      }
      counts.push(tf.memory().numTensors - (last && !last.isDisposed ? 1 : 0));
      losses.push(s.loss);
    }
    last?.dispose();
    expect(counts).toHaveLength(200);
    // After the first steps (Gram targets and optimiser state exist from step 1), nothing grows.
    expect(new Set(counts.slice(5)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    // And the loop did optimise: the loss fell.
    expect(losses[199]).toBeLessThan(losses[0] * 0.5);
  }, 600_000);
});
