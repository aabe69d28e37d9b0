import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError, type VisionModel } from '@cnnviz/core';
import { gradCam } from './grad-cam.js';
import { gradCamPlusPlus } from './grad-cam-plus-plus.js';
import { guidedBackprop } from './guided-backprop.js';
import { guidedGradCam } from './guided-grad-cam.js';
import { integratedGradients } from './integrated-gradients.js';
import { occlusion } from './occlusion.js';
import { saliency } from './saliency.js';
import { smoothGrad } from './smooth-grad.js';
import { captumConvNet } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type AnyTechnique = (model: VisionModel, image: any, options: any) => Promise<{ dispose(): void }>;
const techniques: Record<string, AnyTechnique> = {
  saliency,
  smoothGrad: (m, i, o) => smoothGrad(m, i, { samples: 2, ...o }),
  integratedGradients: (m, i, o) => integratedGradients(m, i, { steps: 4, ...o }),
  gradCam,
  gradCamPlusPlus,
  guidedBackprop,
  guidedGradCam,
  occlusion: (m, i, o) => occlusion(m, i, { window: 2, ...o }),
};

/** Expects a CnnvizError with `code` and no tensor left behind. */
async function expectCode(p: () => Promise<unknown>, code: string): Promise<void> {
  const before = tf.memory().numTensors;
  let caught: unknown;
  try {
    await p();
  } catch (e) {
    caught = e;
  }
  expect(CnnvizError.isInstance(caught), `expected CnnvizError ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as CnnvizError).code).toBe(code);
  expect((caught as Error).message.length).toBeGreaterThan(10);
  expect(tf.memory().numTensors).toBe(before);
}

describe('bad input → CnnvizError with the right code, nothing leaked', () => {
  const net = captumConvNet();
  const good = tf.ones([4, 4, 1]) as tf.Tensor3D;

  for (const [name, run] of Object.entries(techniques)) {
    it(name, async () => {
      const bad = {
        rank2: tf.zeros([4, 4]),
        rank5: tf.zeros([1, 1, 4, 4, 1]),
        channels: tf.zeros([4, 4, 3]),
        size: tf.zeros([5, 4, 1]),
        nan: tf.tensor3d([NaN, ...new Array(15).fill(0)], [4, 4, 1]),
        inf: tf.tensor4d([...new Array(31).fill(0), Infinity], [2, 4, 4, 1]),
      };
      for (const img of Object.values(bad)) await expectCode(() => run(net, img, { target: 0 }), 'BAD_IMAGE');
      await expectCode(() => run(net, 'cat.png', { target: 0 }), 'BAD_IMAGE');
      for (const target of [4, -1, 1.5, '2', undefined])
        await expectCode(() => run(net, good, { target }), 'BAD_TARGET');
      const pair = tf.stack([good, good]);
      await expectCode(() => run(net, pair, { target: [0] }), 'BAD_TARGET');
      await expectCode(() => run(net, pair, { target: [0, 9] }), 'BAD_TARGET');
      tf.dispose([pair, ...Object.values(bad)]);
    });
  }

  it('Grad-CAM: unknown layer (with close names) and a non-spatial layer', async () => {
    for (const cam of [gradCam, gradCamPlusPlus, guidedGradCam]) {
      await expectCode(() => cam(net, good, { target: 0, layer: 'conv9' }), 'UNKNOWN_LAYER');
      await expectCode(() => cam(net, good, { target: 0, layer: 'fc1' }), 'BAD_LAYER');
      await expectCode(() => cam(net, good, { target: 0, layer: 'flatten' }), 'BAD_LAYER');
    }
    await gradCam(net, good, { target: 0, layer: 'conv9' }).catch((e: Error) =>
      expect(e.message).toContain('conv1'),
    );
  });

  it('occlusion: window larger than the image, bad stride or baseline', async () => {
    await expectCode(() => occlusion(net, good, { target: 0, window: 5 }), 'BAD_OPTION');
    await expectCode(() => occlusion(net, good, { target: 0, window: [2, 8] }), 'BAD_OPTION');
    await expectCode(() => occlusion(net, good, { target: 0, window: 2, stride: 0 }), 'BAD_OPTION');
    const small = tf.zeros([3, 3, 1]) as tf.Tensor3D;
    await expectCode(() => occlusion(net, good, { target: 0, window: 2, baseline: small }), 'BAD_OPTION');
    small.dispose();
  });

  it('options: steps, samples, noise, baseline shape, batch budget', async () => {
    await expectCode(() => integratedGradients(net, good, { target: 0, steps: 0 }), 'BAD_OPTION');
    await expectCode(
      () => integratedGradients(net, good, { target: 0, method: 'simpson' as never }),
      'BAD_OPTION',
    );
    const wrong = tf.zeros([4, 3, 1]);
    await expectCode(
      () => integratedGradients(net, good, { target: 0, baseline: wrong as tf.Tensor3D }),
      'BAD_OPTION',
    );
    wrong.dispose();
    await expectCode(() => smoothGrad(net, good, { target: 0, samples: 0 }), 'BAD_OPTION');
    await expectCode(() => smoothGrad(net, good, { target: 0, noise: -1 }), 'BAD_OPTION');
    await expectCode(() => saliency(net, good, { target: 0, internalBatchSize: 0 }), 'BAD_OPTION');
    await expectCode(() => saliency(net, good, { target: 0, maxBatchBytes: NaN }), 'BAD_OPTION');
  });

  it('objective targets: unknown tap layer', async () => {
    const objective = { taps: ['nope'], name: 'x', evaluate: () => tf.zeros([1]) as tf.Tensor1D };
    await expectCode(() => saliency(net, good, { target: objective }), 'UNKNOWN_LAYER');
  });

  it('abort signal → ABORTED', async () => {
    const controller = new AbortController();
    controller.abort();
    await expectCode(
      () => smoothGrad(net, good, { target: 0, samples: 4, internalBatchSize: 1, signal: controller.signal }),
      'ABORTED',
    );
    await expectCode(
      () => occlusion(net, good, { target: 0, window: 2, internalBatchSize: 1, signal: controller.signal }),
      'ABORTED',
    );
  });
});
