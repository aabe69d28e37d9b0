import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { poolSpatial } from './pool.js';

describe('poolSpatial', () => {
  // [1, 2, 2, 2]: channel 0 holds 1, 2, 3, 4; channel 1 holds 10, -20, 30, 0.
  const act = () => tf.tensor4d([1, 10, 2, -20, 3, 30, 4, 0], [1, 2, 2, 2]);

  it('averages, maxes or flattens the spatial axes (hand-computed)', () => {
    const a = act();
    for (const [pooling, want] of [
      ['avg', [2.5, 5]],
      ['max', [4, 30]],
      ['none', [1, 10, 2, -20, 3, 30, 4, 0]],
    ] as const) {
      const p = poolSpatial(a, pooling);
      expect(p.shape).toEqual([1, want.length]);
      expect(Array.from(p.dataSync())).toEqual(want);
      p.dispose();
    }
    a.dispose();
  });

  it('pools a rank-3 sequence over its middle axis and returns rank 2 unchanged', () => {
    const seq = tf.tensor3d([1, 2, 3, 5], [1, 2, 2]);
    const p = poolSpatial(seq, 'avg');
    expect(Array.from(p.dataSync())).toEqual([2, 3.5]);
    const flat = tf.tensor2d([1, 2], [1, 2]);
    expect(poolSpatial(flat, 'max')).toBe(flat);
    tf.dispose([seq, p, flat]);
  });
});
