/**
 * @cnnviz/embedding at data-set scale: Barnes–Hut t-SNE, exact kNN and randomized PCA on 10,000 rows (quick: 1,000),
 * on the WASM backend @cnnviz/node starts (the products on embedding's SIMD kernel and worker threads). Data are
 * synthetic and seeded: clustered 50-D points for t-SNE, CNN-like features (ReLU of a low-rank class structure plus
 * noise) for kNN and PCA. Stock: kNN as a user writes it in TF.js (matMul distances + topk per block of queries).
 * References: scikit-learn / numpy on the same two cores (shared ASSETS.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@cnnviz/core';
import { knn, pca, tsne } from '@cnnviz/embedding';
import type { Benchmark, Variant } from '../harness.js';

const N = 10_000;
const QUICK_N = 1_000;
const D = 1280;
const QUICK_D = 256;

function gaussian(rng: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** 10 classes, each a 5-D Gaussian subspace around its centre in 50-D, plus isotropic noise. */
function clustered50(n: number, seed: number): Float32Array[] {
  const g = gaussian(createRng(seed));
  const dims = 50;
  const centres = Array.from({ length: 10 }, () => Float32Array.from({ length: dims }, () => 3 * g()));
  const bases = Array.from({ length: 10 }, () =>
    Array.from({ length: 5 }, () => Float32Array.from({ length: dims }, g)),
  );
  return Array.from({ length: n }, (_, i) => {
    const r = Float32Array.from(centres[i % 10]);
    for (const b of bases[i % 10]) {
      const z = g();
      for (let t = 0; t < dims; t++) r[t] += z * b[t];
    }
    for (let t = 0; t < dims; t++) r[t] += g();
    return r;
  });
}

/** CNN-like features: ReLU(W z + b) with a 32-D latent z around one of 10 class means, plus noise. */
function cnnLikeFeatures(n: number, d: number, seed: number): tf.Tensor2D {
  const g = gaussian(createRng(seed));
  const L = 32;
  const W = Float32Array.from({ length: L * d }, () => g() / Math.sqrt(L));
  const bias = Float32Array.from({ length: d }, () => 0.3 * g());
  const means = Array.from({ length: 10 }, () => Float32Array.from({ length: L }, () => 1.5 * g()));
  const out = new Float32Array(n * d);
  const z = new Float32Array(L);
  for (let i = 0; i < n; i++) {
    const m = means[i % 10];
    for (let l = 0; l < L; l++) z[l] = m[l] + g();
    for (let t = 0; t < d; t++) {
      let s = bias[t] + 0.05 * g();
      for (let l = 0; l < L; l++) s += W[l * d + t] * z[l];
      out[i * d + t] = s > 0 ? s : 0;
    }
  }
  return tf.tensor2d(out, [n, d]);
}

const features = (quick: boolean) => cnnLikeFeatures(quick ? QUICK_N : N, quick ? QUICK_D : D, 2);

const tsneBench: Benchmark = {
  name: 'tsne',
  suite: 'embedding',
  description: `Barnes–Hut t-SNE, ${N} x 50 clustered points, 1000 iterations (quick: ${QUICK_N} points, 250 iterations).`,
  cnnviz: {
    label: 'cnnviz tsne (wasm, SIMD workers)',
    backend: 'wasm',
    fixes: true,
    warmup: 0,
    iterations: 1,
    setup: async ({ quick }) => {
      const rows = clustered50(quick ? QUICK_N : N, 1);
      return async () => {
        await tsne(rows, { seed: 0, neighbors: 'knn', iterations: quick ? 250 : 1000 });
      };
    },
  },
  stock: [],
  reference: { label: 'scikit-learn TSNE, 2 threads', msLow: 29_000, msHigh: 29_000 },
  targets: { medianMs: 20_000 },
};

const knnCnnviz: Variant = {
  label: 'cnnviz knn (wasm, SIMD workers)',
  backend: 'wasm',
  fixes: true,
  warmup: 0,
  iterations: 3,
  setup: async ({ quick }) => {
    const x = features(quick);
    return async () => {
      await knn(x, x, { k: 10 });
    };
  },
};

/** Stock TF.js kNN as a user writes it: squared distances from one matMul per block of 512 queries, then topk. */
const knnStock: Variant = {
  label: 'stock wasm (matMul + topk)',
  backend: 'wasm',
  fixes: false,
  warmup: 0,
  iterations: 1,
  scale: N / 2048,
  note: `timed on 2048 of ${N} queries, extrapolated (float32 distances, not exact)`,
  setup: async () => {
    const x = features(false);
    const norms = tf.tidy(() => tf.sum(tf.square(x), 1));
    const xT = tf.transpose(x);
    return async () => {
      for (let q0 = 0; q0 < 2048; q0 += 512) {
        const top = tf.tidy(() => {
          const q = tf.slice(x, [q0, 0], [512, D]);
          const qn = tf.slice(norms, [q0], [512]);
          const d2 = tf.add(
            tf.sub(tf.expandDims(qn, 1), tf.mul(2, tf.matMul(q, xT))),
            tf.expandDims(norms, 0),
          );
          return tf.topk(tf.neg(d2), 10);
        });
        await top.indices.data();
        tf.dispose([top.values, top.indices]);
      }
    };
  },
};

const knnBench: Benchmark = {
  name: 'knn',
  suite: 'embedding',
  description: `exact kNN, ${N} x ${D} CNN-like features against themselves, k = 10 (quick: ${QUICK_N} x ${QUICK_D}).`,
  cnnviz: knnCnnviz,
  stock: [knnStock],
  reference: { label: 'numpy, 2 threads', msLow: 1600, msHigh: 1600 },
  targets: { medianMs: 5000 },
};

const pcaBench: Benchmark = {
  name: 'pca',
  suite: 'embedding',
  description: `randomized PCA, ${N} x ${D} -> 50 components (quick: ${QUICK_N} x ${QUICK_D}).`,
  cnnviz: {
    label: 'cnnviz pca randomized (wasm, SIMD workers)',
    backend: 'wasm',
    fixes: true,
    warmup: 1,
    iterations: 3,
    setup: async ({ quick }) => {
      const x = features(quick);
      return async () => {
        await pca(x, { components: 50, method: 'randomized' });
      };
    },
  },
  stock: [],
  reference: { label: 'scikit-learn randomized PCA, 2 threads', msLow: 160, msHigh: 160 },
  targets: { medianMs: 1000 },
};

export const EMBEDDING: Benchmark[] = [tsneBench, knnBench, pcaBench];
