import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, randomNormal, randomUniform } from './random.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('createRng', () => {
  it('is mulberry32: deterministic per seed, different across seeds, in [0, 1)', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    // Reference value of mulberry32 (seed 1): first output 0.6270739405881613 (from the original C/JS code).
    expect(createRng(1)()).toBeCloseTo(0.6270739405881613, 12);
  });

  it('is uniform: 10 bins of 100k draws within 2% of 10k each', () => {
    const r = createRng(3);
    const bins = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) bins[Math.floor(r() * 10)]++;
    for (const n of bins) expect(Math.abs(n - 10_000)).toBeLessThan(200);
  });

  it('rejects a non-numeric seed', () => {
    expect(() => createRng(NaN)).toThrow(expect.objectContaining({ code: 'BAD_OPTION' }));
  });
});

describe('randomNormal / randomUniform', () => {
  it('normal: mean, std and a tail probability match N(mean, std); seeded', async () => {
    const before = tf.memory().numTensors;
    const t = randomNormal([100_001], createRng(5), 1, 2);
    const d = Array.from(await t.data());
    const n = d.length;
    const mean = d.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    expect(mean).toBeCloseTo(1, 1);
    expect(Math.abs(std - 2)).toBeLessThan(0.02);
    // P(|z| > 1.96) = 0.05
    const tail = d.filter((v) => Math.abs(v - 1) > 1.96 * 2).length / n;
    expect(Math.abs(tail - 0.05)).toBeLessThan(0.003);
    const again = randomNormal([100_001], createRng(5), 1, 2);
    expect(Array.from(await again.data())).toEqual(d);
    tf.dispose([t, again]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('uniform: shape, range and mean', async () => {
    const t = randomUniform([10, 100], createRng(9), -1, 3);
    expect(t.shape).toEqual([10, 100]);
    const d = Array.from(await t.data());
    expect(Math.min(...d)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...d)).toBeLessThan(3);
    expect(d.reduce((s, v) => s + v, 0) / d.length).toBeCloseTo(1, 1);
    t.dispose();
    expect(() => randomUniform([2, -1], createRng(0))).toThrow(
      expect.objectContaining({ code: 'BAD_OPTION' }),
    );
  });
});
