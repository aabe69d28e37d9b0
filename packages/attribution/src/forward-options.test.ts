import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  channel,
  type ForwardOptions,
  type ForwardResult,
  type TapsResult,
  type VisionModel,
} from '@cnnviz/core';
import { gradCam } from './grad-cam.js';
import { occlusion } from './occlusion.js';
import { topPatches } from './top-patches.js';
import { seededImage, smallRgbNet } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** smallRgbNet with a forward that records the options it gets and honours `{ logits: false }`. */
function spied(): { model: VisionModel; calls: (ForwardOptions | undefined)[]; dispose(): void } {
  const base = smallRgbNet();
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

describe('forward options in attribution', () => {
  it('topPatches and activation objectives skip the logits; class targets get them, with the same results', async () => {
    const { model, calls, dispose } = spied();
    const plain = smallRgbNet();
    const images = [seededImage([8, 8, 3], 1), seededImage([8, 8, 3], 2)];
    const batch = tf.stack(images) as tf.Tensor4D;
    const before = tf.memory().numTensors;

    const patches = await topPatches(model, images, { layer: 'relu1', channel: 1, k: 2 });
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.every((c) => c?.logits === false)).toBe(true);
    const ref = await topPatches(plain, images, { layer: 'relu1', channel: 1, k: 2 });
    expect(patches.map((p) => [p.imageIndex, p.value])).toEqual(ref.map((p) => [p.imageIndex, p.value]));
    tf.dispose([...patches.map((p) => p.patch), ...ref.map((p) => p.patch)]);

    for (const [target, logits] of [
      [channel('relu2', 3), false],
      [1, true],
    ] as const) {
      calls.length = 0;
      const cam = await gradCam(model, batch, { target, layer: 'relu1' });
      const camRef = await gradCam(plain, batch, { target, layer: 'relu1' });
      expect(calls.length).toBeGreaterThan(0);
      // A class target's size check is a plain forward (options undefined: logits computed).
      expect(calls.every((c) => (c?.logits ?? true) === logits)).toBe(true);
      expect(await cam.map.data()).toEqual(await camRef.map.data());
      cam.dispose();
      camRef.dispose();
      calls.length = 0;
      const occ = await occlusion(model, batch, { target, window: 4, stride: 4 });
      const occRef = await occlusion(plain, batch, { target, window: 4, stride: 4 });
      expect(calls.length).toBeGreaterThan(1);
      // A class target's size check is a plain forward (options undefined: logits computed).
      expect(calls.every((c) => (c?.logits ?? true) === logits)).toBe(true);
      expect(await occ.map.data()).toEqual(await occRef.map.data());
      occ.dispose();
      occRef.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([...images, batch]);
    plain.dispose();
    dispose();
  });
});
