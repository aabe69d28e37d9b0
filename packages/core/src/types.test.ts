import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import type { ForwardOptions, ForwardResult, TapsResult, VisionModel } from './types.js';

// Type-level checks run under `tsc --noEmit` (test files are part of the root project); the
// runtime checks below make the same calls.

/** A VisionModel written before ForwardOptions existed: forward takes (x, taps?) only. */
const legacyForward = (x: tf.Tensor4D, taps?: string[]): ForwardResult => ({
  logits: tf.reshape(tf.sum(x, [1, 2]), [x.shape[0], -1]) as tf.Tensor2D,
  activations: Object.fromEntries((taps ?? []).map((t) => [t, tf.mul(x, 2)])),
});
const legacy = {
  inputShape: [2, 2, 1] as [number, number, number],
  layers: [{ name: 'double', kind: 'Lambda', outputShape: [2, 2, 1] }],
  preprocess: (img: tf.Tensor3D | tf.Tensor4D) =>
    (img.rank === 3 ? tf.expandDims(img, 0) : img) as tf.Tensor4D,
  forward: legacyForward,
};
// Still a VisionModel, as a variable and as an object literal whose forward is contextually typed.
const asModel: VisionModel = legacy;
const literal: VisionModel = {
  ...legacy,
  forward: (x, taps = []) => ({
    logits: tf.zeros([x.shape[0], 1]),
    activations: Object.fromEntries(taps.map((t) => [t, x])),
  }),
};
void literal;

describe('VisionModel.forward options', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('a two-argument forward satisfies VisionModel and returns logits even when asked not to', () => {
    expectTypeOf(asModel.forward).toBeCallableWith(tf.zeros([1, 2, 2, 1]) as tf.Tensor4D, ['double']);
    const x = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const full = asModel.forward(x, ['double']);
    expectTypeOf(full).toEqualTypeOf<ForwardResult>();
    const opts: ForwardOptions = { logits: false };
    const taps = asModel.forward(x, ['double'], opts);
    expectTypeOf(taps).toEqualTypeOf<TapsResult>();
    // @ts-expect-error logits may be absent when options are passed
    void (() => taps.logits.shape);
    // The model ignores the option: logits are there anyway, and the activations are the same.
    expect(taps.logits?.dataSync()).toEqual(new Float32Array([10]));
    expect(taps.activations.double.dataSync()).toEqual(full.activations.double.dataSync());
    // A ForwardResult is a TapsResult.
    expectTypeOf<ForwardResult>().toMatchTypeOf<TapsResult>();
    tf.dispose([x, full.logits, full.activations.double, taps.logits!, taps.activations.double]);
  });
});
