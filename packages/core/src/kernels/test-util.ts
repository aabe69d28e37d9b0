import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { kernelFixCacheSize } from './derived-weights.js';

/** Seeded uniform values in [lo, hi) (mulberry32), so failures reproduce. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomArray(n: number, rng: () => number, lo = -1, hi = 1): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = lo + (hi - lo) * rng();
  return v;
}

/** max |a-b| / max(|b|, tiny): a relative error that is robust to individual near-zero entries. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let num = 0;
  let den = 1e-12;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

/** Runs fn on a backend and returns its result's values; tensors made inside are freed. */
export async function valuesOn(backend: string, fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = tf.tidy(fn);
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

export interface KernelInput {
  values: ArrayLike<number>;
  shape: number[];
  dtype?: 'float32' | 'int32' | 'bool';
}

/**
 * Runs one kernel on a backend and returns its output values, shape and dtype. Inputs are named, or a list for kernels
 * that take one (Concat). Asserts that the call adds exactly one tensor and that, once inputs and output are disposed,
 * the backend holds no more buffers than before — intermediates made inside a kernel are freed, and cached derived
 * filters go with their source (the cache sweeps on lookup).
 */
export async function kernelOn(
  backend: string,
  kernelName: string,
  inputs: Record<string, KernelInput> | KernelInput[],
  attrs: Record<string, unknown>,
): Promise<{ values: Float32Array; shape: number[]; dtype: tf.DataType }> {
  await tf.setBackend(backend);
  kernelFixCacheSize();
  const buffersBefore = tf.engine().backend.numDataIds();
  const make = (v: KernelInput) => tf.tensor(Array.from(v.values), v.shape, v.dtype ?? 'float32');
  const ts = Array.isArray(inputs)
    ? inputs.map(make)
    : Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, make(v)]));
  const tensorsBefore = tf.memory().numTensors;
  const out = tf
    .engine()
    .runKernel(kernelName, ts as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor;
  expect(tf.memory().numTensors).toBe(tensorsBefore + 1);
  const values = Float32Array.from(out.dataSync());
  const { shape, dtype } = out;
  out.dispose();
  tf.dispose(Object.values(ts));
  kernelFixCacheSize();
  expect(tf.engine().backend.numDataIds()).toBe(buffersBefore);
  return { values, shape: shape.slice(), dtype };
}

export function randomInput(shape: number[], rng: () => number, lo = -1, hi = 1): KernelInput {
  return { values: randomArray(tf.util.sizeFromShape(shape), rng, lo, hi), shape };
}
