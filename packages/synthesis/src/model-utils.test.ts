import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  channel,
  classLogit,
  run,
  type ForwardOptions,
  type ForwardResult,
  type Step,
  type TapsResult,
  type VisionModel,
} from '@cnnviz/core';
import { deepDream } from './deep-dream.js';
import { invertFeatures } from './invert-features.js';
import { gramTargets, measureStyleLoss } from './losses/targets.js';
import { evaluateObjective, forwardPixels } from './model-utils.js';
import { trainStyleNetwork } from './style-network/train.js';
import { synthesizeTexture } from './synthesize-texture.js';
import { transferStyle } from './transfer-style.js';
import { testImage, tinyModel } from './test-util.js';
import { visualizeClass } from './visualize-class.js';
import { visualizeUnit } from './visualize-unit.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The tiny net, with a forward that records the options it gets and honours `{ logits: false }`. */
function spied(): { model: VisionModel; calls: (ForwardOptions | undefined)[]; dispose(): void } {
  const base = tinyModel();
  const calls: (ForwardOptions | undefined)[] = [];
  function forward(x: tf.Tensor4D, taps?: string[]): ForwardResult;
  function forward(x: tf.Tensor4D, taps: string[] | undefined, options: ForwardOptions): TapsResult;
  function forward(x: tf.Tensor4D, taps: string[] = [], options?: ForwardOptions): TapsResult {
    calls.push(options);
    const out = base.forward(x, taps);
    if (options?.logits !== false) return out;
    out.logits.dispose();
    return { activations: out.activations };
  }
  return { model: { ...base, forward }, calls, dispose: () => base.dispose() };
}

async function last(steps: AsyncGenerator<Step, void, undefined>): Promise<void> {
  (await run(steps)).image?.dispose();
}

describe('forward options in synthesis', () => {
  it('forwardPixels passes options through only when given; evaluateObjective asks for logits only if needed', () => {
    const { model, calls, dispose } = spied();
    const x = tf.expandDims(testImage(16, 16), 0) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    // The tiny net leaves its intermediates to the caller's tidy, as techniques call it.
    tf.tidy(() => {
      const full = forwardPixels(model, x, ['relu2']);
      expect(calls.pop()).toBeUndefined();
      const cut = forwardPixels(model, x, ['relu2'], { logits: false });
      expect(calls.pop()).toEqual({ logits: false });
      expect(cut.logits).toBeUndefined();
      expect(cut.activations.relu2.dataSync()).toEqual(full.activations.relu2.dataSync());

      const unit = channel('relu2', 3);
      const a = evaluateObjective(model, x, unit);
      // ... and says which channel it reads, so the model may skip the rest.
      expect(calls.pop()).toEqual({ logits: false, channels: { relu2: [3] } });
      expect(a.out.logits).toBeUndefined();
      expect(a.values.dataSync()).toEqual(tf.tidy(() => unit.evaluate(full).dataSync()));
      // A tap the caller reads itself (the diversity term's layer) is asked for whole.
      const b = evaluateObjective(model, x, unit, ['relu2'], ['relu2']);
      expect(calls.pop()).toEqual({ logits: false });
      expect(b.values.dataSync()).toEqual(a.values.dataSync());
      const cls = evaluateObjective(model, x, classLogit(1), ['relu1']);
      expect(calls.pop()).toEqual({ logits: true });
      expect(Object.keys(cls.out.activations)).toEqual(['relu1']);
      expect(cls.values.dataSync()).toEqual(tf.tidy(() => classLogit(1).evaluate(full).dataSync()));
    });
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    dispose();
  });

  it('style, texture, inversion, DeepDream, unit visualisation and style-network training ask for no logits', async () => {
    const { model, calls, dispose } = spied();
    const img = testImage(24, 24, 3, 3);
    const style = testImage(24, 24, 3, 4);
    const before = tf.memory().numTensors;
    tf.dispose(gramTargets(model, style, ['relu1', 'relu2']));
    await measureStyleLoss(model, img, style, ['relu1']);
    await last(invertFeatures(model, img, { layer: 'relu2', steps: 2 }));
    await last(synthesizeTexture(model, style, { layers: ['relu1'], size: [16, 16], steps: 2 }));
    await last(
      transferStyle(model, img, [{ image: style, weight: 1 }], {
        contentLayer: 'relu2',
        styleLayers: ['relu1'],
        steps: 2,
      }),
    );
    await last(deepDream(model, img, { layer: 'relu2', octaves: 1, steps: 2 }));
    await last(visualizeUnit(model, 'relu2:3', { steps: 2, size: 16 }));
    const net = await trainStyleNetwork(model, style, [img], {
      contentLayer: 'relu2',
      styleLayers: ['relu1'],
      size: 16,
      steps: 2,
      width: 4,
      residualBlocks: 1,
    });
    net.dispose();
    expect(calls.length).toBeGreaterThan(15);
    expect(calls.filter((c) => c?.logits !== false)).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);

    // Objectives that read logits still get them.
    calls.length = 0;
    await last(visualizeClass(model, { target: 1, steps: 2, size: 16 }));
    await last(deepDream(model, img, { objective: 'class:1', octaves: 1, steps: 2 }));
    expect(calls.length).toBeGreaterThan(3);
    expect(calls.filter((c) => c?.logits !== true)).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([img, style]);
    dispose();
  });
});
