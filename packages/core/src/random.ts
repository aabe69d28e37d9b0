import * as tf from '@tensorflow/tfjs-core';
import { check, checkNumber } from './validate.js';

/** A seeded source of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * A fast seeded random source (mulberry32, 32-bit state). Every stochastic technique takes one so
 * its results are reproducible from a seed, independent of the backend and of `Math.random`.
 */
export function createRng(seed: number): Rng {
  checkNumber(seed, 'seed');
  // Fractional or large seeds still give distinct streams: fold them into 32 bits.
  let state = (Math.floor(seed) ^ Math.floor(seed / 2 ** 32)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function checkShape(shape: unknown): asserts shape is number[] {
  check(
    Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0),
    'BAD_OPTION',
    () => `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`,
  );
}

function checkRng(rng: unknown): asserts rng is Rng {
  check(
    typeof rng === 'function',
    'BAD_OPTION',
    'rng must be a function returning numbers in [0, 1) (see createRng)',
  );
}

/** Normal samples (Box–Muller on `rng`) as a float32 tensor of `shape`. */
export function randomNormal(shape: number[], rng: Rng, mean = 0, std = 1): tf.Tensor {
  checkShape(shape);
  checkRng(rng);
  checkNumber(mean, 'mean');
  checkNumber(std, 'std', { min: 0 });
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // 1 - u keeps the log argument in (0, 1], so no -Infinity.
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const theta = 2 * Math.PI * rng();
    out[i] = mean + std * r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(theta);
  }
  return tf.tensor(out, shape, 'float32');
}

/** Uniform samples in [min, max) from `rng` as a float32 tensor of `shape`. */
export function randomUniform(shape: number[], rng: Rng, min = 0, max = 1): tf.Tensor {
  checkShape(shape);
  checkRng(rng);
  checkNumber(min, 'min');
  checkNumber(max, 'max', { min });
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = min + (max - min) * rng();
  return tf.tensor(out, shape, 'float32');
}
