import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError } from './errors.js';
import {
  add,
  channel,
  classLogit,
  layer,
  layerL2,
  negate,
  neuron,
  objectiveForwardOptions,
  type Objective,
  parseObjective,
  scale,
} from './objectives.js';
import type { ForwardResult, VisionModel } from './types.js';

// Activation "a" [2,3,3,2]: value = 100*n + 10*(y*3+x) + c, so every entry is known by hand.
const aValue = (n: number, y: number, x: number, c: number) => 100 * n + 10 * (y * 3 + x) + c;
const aData = () => {
  const v: number[] = [];
  for (let n = 0; n < 2; n++)
    for (let y = 0; y < 3; y++)
      for (let x = 0; x < 3; x++) for (let c = 0; c < 2; c++) v.push(aValue(n, y, x, c));
  return v;
};

/** A hand-built VisionModel: "a" is a fixed [2,3,3,2] map, "d" a dense [2,3] layer, logits [2,4]. */
const fake: VisionModel = {
  inputShape: [3, 3, 1],
  layers: [
    { name: 'a', kind: 'Conv2D', outputShape: [3, 3, 2] },
    { name: 'd', kind: 'Dense', outputShape: [3] },
  ],
  preprocess: (img) => (img.rank === 3 ? tf.expandDims(img, 0) : img) as tf.Tensor4D,
  forward(_x, taps = []): ForwardResult {
    const all: Record<string, () => tf.Tensor> = {
      a: () => tf.tensor4d(aData(), [2, 3, 3, 2]),
      d: () => tf.tensor2d([1, -2, 3, 4, 5, -6], [2, 3]),
    };
    const activations: Record<string, tf.Tensor> = {};
    for (const t of taps) {
      if (!(t in all)) throw new CnnvizError('UNKNOWN_LAYER', `unknown layer "${t}"`);
      activations[t] = all[t]();
    }
    return { logits: tf.tensor2d([0, 1, 2, 3, 10, 11, 12, 13], [2, 4]), activations };
  },
};

function evaluate(o: Objective): number[] {
  return tf.tidy(() => {
    const out = fake.forward(tf.zeros([2, 3, 3, 1]), o.taps);
    const before = tf.memory().numTensors;
    const v = o.evaluate(out);
    // Only the result is new.
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(v.shape).toEqual([2]);
    return Array.from(v.dataSync());
  });
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return CnnvizError.isInstance(e) ? e.code : `not a CnnvizError: ${String(e)}`;
  }
  return undefined;
}

describe('objectives', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('channel is the spatial mean of one channel; on a dense layer the unit value', () => {
    // mean over positions p of 100n + 10p + c = 100n + 40 + c.
    expect(evaluate(channel('a', 1))).toEqual([41, 141]);
    expect(evaluate(channel('d', 2))).toEqual([3, -6]);
  });

  it('neuron defaults to the centre and takes an explicit position', () => {
    expect(evaluate(neuron('a', 0))).toEqual([aValue(0, 1, 1, 0), aValue(1, 1, 1, 0)]);
    expect(evaluate(neuron('a', 1, 2, 0))).toEqual([aValue(0, 2, 0, 1), aValue(1, 2, 0, 1)]);
  });

  it('layerL2 is the mean squared activation', () => {
    const v = aData();
    const per = [0, 1].map((n) => v.slice(n * 18, (n + 1) * 18).reduce((s, a) => s + a * a, 0) / 18);
    const got = evaluate(layerL2('a'));
    expect(got[0]).toBeCloseTo(per[0], 3);
    expect(got[1]).toBeCloseTo(per[1], 1);
    expect(layer).toBe(layerL2);
  });

  it('classLogit, add, scale and negate compose', () => {
    expect(evaluate(classLogit(2))).toEqual([2, 12]);
    const combo = add(channel('a', 1), scale(classLogit(3), 2), negate(neuron('d', 0)));
    expect(combo.taps.sort()).toEqual(['a', 'd']);
    // neuron on a dense layer is a BAD_LAYER; use channel for it instead.
    const ok = add(channel('a', 1), scale(classLogit(3), 2), negate(channel('d', 0)));
    expect(evaluate(ok)).toEqual([41 + 6 - 1, 141 + 26 - 4]);
    expect(ok.name).toContain('classLogit(3)');
  });

  it('parses the string shorthand', () => {
    expect(evaluate(parseObjective('a:1'))).toEqual([41, 141]);
    expect(evaluate(parseObjective('channel:a:1'))).toEqual([41, 141]);
    expect(evaluate(parseObjective('class:3'))).toEqual([3, 13]);
    expect(evaluate(parseObjective('neuron:a:0'))).toEqual(evaluate(neuron('a', 0)));
    expect(evaluate(parseObjective('neuron:a:1:2:0'))).toEqual(evaluate(neuron('a', 1, 2, 0)));
    expect(parseObjective('layer:a').name).toBe('layerL2(a)');
    expect(parseObjective('a').name).toBe('layerL2(a)');
    expect(parseObjective('block_13_expand_relu:42').name).toBe('channel(block_13_expand_relu, 42)');
    expect(parseObjective('model/conv:0:7').name).toBe('channel(model/conv:0, 7)');
    const o = channel('a', 0);
    expect(parseObjective(o)).toBe(o);
  });

  it('reports bad targets, layers and options with the right codes', () => {
    expect(codeOf(() => evaluate(channel('a', 2)))).toBe('BAD_TARGET');
    let msg = '';
    try {
      evaluate(channel('a', 5));
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain('2 channels');
    expect(codeOf(() => evaluate(classLogit(4)))).toBe('BAD_TARGET');
    expect(codeOf(() => evaluate(neuron('a', 0, 3, 0)))).toBe('BAD_TARGET');
    expect(codeOf(() => evaluate(neuron('d', 0)))).toBe('BAD_LAYER');
    expect(codeOf(() => evaluate(channel('nope', 0)))).toBe('UNKNOWN_LAYER');
    expect(codeOf(() => channel('a', -1))).toBe('BAD_TARGET');
    expect(codeOf(() => channel('a', 1.5))).toBe('BAD_TARGET');
    expect(codeOf(() => classLogit(Number.NaN))).toBe('BAD_TARGET');
    expect(codeOf(() => scale(channel('a', 0), Number.POSITIVE_INFINITY))).toBe('BAD_OPTION');
    expect(codeOf(() => parseObjective(''))).toBe('BAD_OPTION');
    expect(codeOf(() => parseObjective('class:x'))).toBe('BAD_TARGET');
    expect(codeOf(() => add(channel('a', 0), {} as Objective))).toBe('BAD_OPTION');
    // An objective evaluated on a forward result that lacks its tap.
    const input = tf.zeros([2, 3, 3, 1]) as tf.Tensor4D;
    const out = fake.forward(input, []);
    expect(codeOf(() => channel('a', 0).evaluate(out))).toBe('UNKNOWN_LAYER');
    tf.dispose([input, out.logits]);
  });

  it('needsLogits: false for activation objectives, true for classLogit, propagated by composition', () => {
    const custom: Objective = { taps: ['a'], name: 'custom', evaluate: (o) => channel('a', 0).evaluate(o) };
    expect(channel('a', 0).needsLogits).toBe(false);
    expect(neuron('a', 0).needsLogits).toBe(false);
    expect(layerL2('a').needsLogits).toBe(false);
    expect(classLogit(1).needsLogits).toBe(true);
    expect(add(channel('a', 0), layerL2('d')).needsLogits).toBe(false);
    expect(add(channel('a', 0), layerL2('d'), classLogit(0)).needsLogits).toBe(true);
    // An objective that does not say (user-written) counts as needing logits.
    expect(add(channel('a', 0), custom).needsLogits).toBe(true);
    expect(scale(channel('a', 0), 3).needsLogits).toBe(false);
    expect(scale(classLogit(0), 3).needsLogits).toBe(true);
    expect(negate(layerL2('a')).needsLogits).toBe(false);
    expect(negate(classLogit(0)).needsLogits).toBe(true);
    expect(negate(scale(custom, 2)).needsLogits).toBeUndefined();
    expect(negate(scale(add(neuron('a', 0), channel('d', 1)), -1)).needsLogits).toBe(false);
    for (const spec of ['a:1', 'channel:a:1', 'neuron:a:0', 'neuron:a:1:2:0', 'layer:a', 'a']) {
      expect(parseObjective(spec).needsLogits).toBe(false);
    }
    expect(parseObjective('class:3').needsLogits).toBe(true);
    expect(parseObjective(custom).needsLogits).toBeUndefined();
  });

  it('channels: what each tap is read at, merged by add, kept by scale and negate, whole where unsure', () => {
    const custom: Objective = { taps: ['a'], name: 'custom', evaluate: (o) => channel('a', 0).evaluate(o) };
    expect(channel('a', 3).channels).toEqual({ a: [3] });
    expect(neuron('a', 2, 0, 0).channels).toEqual({ a: [2] });
    expect(layerL2('a').channels).toBeUndefined();
    expect(classLogit(1).channels).toBeUndefined();
    expect(add(channel('a', 3), neuron('a', 1), channel('d', 0)).channels).toEqual({ a: [1, 3], d: [0] });
    // A term that reads the whole tap (or does not say) makes the sum read it whole.
    expect(add(channel('a', 3), layerL2('a'), channel('d', 0)).channels).toEqual({ d: [0] });
    expect(add(channel('a', 3), custom).channels).toBeUndefined();
    expect(negate(scale(add(channel('a', 3), channel('a', 3)), 2)).channels).toEqual({ a: [3] });
    expect(parseObjective('mixed4:97').channels).toEqual({ mixed4: [97] });
    expect(parseObjective('neuron:mixed4:97:1:2').channels).toEqual({ mixed4: [97] });

    const o = add(channel('a', 3), classLogit(0));
    expect(objectiveForwardOptions(o)).toEqual({ logits: true, channels: { a: [3] } });
    expect(objectiveForwardOptions(channel('a', 3))).toEqual({ logits: false, channels: { a: [3] } });
    // Extra taps and taps the caller reads itself are read whole.
    expect(objectiveForwardOptions(channel('a', 3), ['a', 'b'], ['a'])).toEqual({ logits: false });
    expect(objectiveForwardOptions(layerL2('a'))).toEqual({ logits: false });
  });
});
