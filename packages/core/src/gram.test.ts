import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError } from './errors.js';
import { gramMatrix } from './gram.js';
import { createRng } from './random.js';

describe('gramMatrix', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('matches a hand-computed example', () => {
    // F = [[1,2],[3,4]] (two positions, two channels): F^T F = [[10,14],[14,20]], / (H*W = 2).
    const act = tf.tensor4d([1, 2, 3, 4], [1, 2, 1, 2]);
    const before = tf.memory().numTensors;
    const g = gramMatrix(act);
    expect(tf.memory().numTensors).toBe(before + 1);
    expect(g.shape).toEqual([2, 2]);
    expect(Array.from(g.dataSync())).toEqual([5, 7, 7, 10]);
    g.dispose();
    act.dispose();
  });

  it('matches a plain loop on random activations', () => {
    const [h, w, c] = [3, 4, 5];
    const rng = createRng(3);
    const v = Float32Array.from({ length: h * w * c }, () => rng() * 2 - 1);
    const act = tf.tensor4d(v, [1, h, w, c]);
    const g = gramMatrix(act).dataSync();
    for (let i = 0; i < c; i++) {
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let p = 0; p < h * w; p++) s += v[p * c + i] * v[p * c + j];
        expect(g[i * c + j]).toBeCloseTo(s / (h * w), 5);
      }
    }
    act.dispose();
  });

  it('rejects anything but [1,H,W,C] with BAD_INPUT', () => {
    const bad = [tf.zeros([2, 2, 2, 3]), tf.zeros([2, 2, 3])];
    for (const t of bad) {
      let err: unknown;
      try {
        gramMatrix(t as tf.Tensor4D);
      } catch (e) {
        err = e;
      }
      expect(CnnvizError.isInstance(err) && err.code).toBe('BAD_INPUT');
      expect(String((err as Error).message)).toContain('[1,H,W,C]');
    }
    tf.dispose(bad);
  });
});
