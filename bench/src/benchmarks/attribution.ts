/**
 * Attribution on MobileNetV2 at 224 px (the zoo's ImageNet backbone; the target is one channel of its pooled out_relu
 * features): cnnviz's techniques beside the same technique written naively with stock TF.js (tfjs-layers' model,
 * tf.grad per input), and PyTorch on the same two cores (shared ASSETS.md). Stock WASM cannot differentiate
 * MobileNetV2 (missing gradient kernels: the row says so), so the naive loops fall back to stock CPU, timed on their
 * first iterations and extrapolated.
 */
import * as tf from '@tensorflow/tfjs-core';
import { resize, type VisionModel } from '@cnnviz/core';
import { images, zooLayersModel, zoo } from '@cnnviz/models';
import * as attribution from '@cnnviz/attribution';
import type { Benchmark, Variant } from '../harness.js';

const SIZE = 224;
const SAMPLES = 50; // SmoothGrad samples and IG steps, as in the PyTorch reference
const WINDOW = 16;
const STRIDE = 8;
const TARGET = 263; // a pooled out_relu channel specific to the cat photo

async function cat(): Promise<tf.Tensor3D> {
  const c = await images.load('chelsea', { channels: 3 });
  const image = resize(c, [SIZE, SIZE]);
  c.dispose();
  return image;
}

type Call = (
  model: VisionModel,
  image: tf.Tensor3D,
  quick: boolean,
) => Promise<{ map: tf.Tensor; dispose(): void }>;

function cnnviz(call: Call, iterations: number): Variant {
  return {
    label: 'cnnviz (wasm + fixes)',
    backend: 'wasm',
    fixes: true,
    warmup: 1,
    iterations,
    setup: async ({ quick }) => {
      const model = await zoo.mobilenetV2Features({ inputSize: SIZE });
      const image = await cat();
      return async () => {
        const r = await call(model, image, quick);
        await r.map.data();
        r.dispose();
      };
    },
  };
}

/** The naive technique on stock TF.js: `loop(score, x, done)` runs the first `done` of its `total` iterations. */
function naive(
  backend: 'wasm' | 'cpu',
  total: number,
  done: number,
  loop: (score: (t: tf.Tensor) => tf.Scalar, x: tf.Tensor4D, n: number) => Promise<void>,
): Variant {
  return {
    label: `stock ${backend} (naive loop)`,
    backend,
    fixes: false,
    warmup: 0,
    iterations: 1,
    scale: total / done,
    note: done < total ? `timed on ${done} of ${total} iterations, extrapolated` : undefined,
    setup: async () => {
      const lm = await zooLayersModel('mobilenetV2Features', { cut: 'out_relu', inputSize: SIZE });
      const image = await cat();
      const x = tf.expandDims(image, 0) as tf.Tensor4D;
      const score = (input: tf.Tensor) =>
        tf.mean(tf.slice(lm.apply(input) as tf.Tensor4D, [0, 0, 0, TARGET], [-1, -1, -1, 1])) as tf.Scalar;
      return (): Promise<void> => loop(score, x, done);
    },
  };
}

/** SmoothGrad or IG written as a user would: one tf.grad per noisy or scaled input, summed. */
function naiveGradientLoop(kind: 'smoothGrad' | 'ig', done: number): Variant[] {
  const loop = async (score: (t: tf.Tensor) => tf.Scalar, x: tf.Tensor4D, n: number) => {
    const sigma = tf.tidy(() => tf.mul(tf.sub(tf.max(x), tf.min(x)), 0.15));
    let sum: tf.Tensor = tf.zerosLike(x);
    for (let i = 0; i < n; i++) {
      const next = tf.tidy(() => {
        const input =
          kind === 'smoothGrad'
            ? tf.add(x, tf.mul(tf.randomNormal(x.shape), sigma))
            : tf.mul(x, (i + 0.5) / SAMPLES); // baseline 0, midpoint rule
        return tf.add(sum, tf.grad(score)(input));
      });
      await next.data();
      sum.dispose();
      sum = next;
    }
    tf.dispose([sum, sigma]);
  };
  return [naive('wasm', SAMPLES, done, loop), naive('cpu', SAMPLES, done, loop)];
}

/** PyTorch 1.13, 2 threads, same machine kind (shared ASSETS.md). */
const pytorch = (ms: number) => ({ label: 'PyTorch CPU, 2 threads', msLow: ms, msHigh: ms });

const saliency: Benchmark = {
  name: 'saliency',
  suite: 'attribution',
  description: 'saliency (input gradient of one pooled out_relu channel), MobileNetV2 224 px.',
  cnnviz: cnnviz((m, x) => attribution.saliency(m, x, { target: TARGET }), 5),
  stock: (['wasm', 'cpu'] as const).map((b) =>
    naive(b, 1, 1, async (score, x) => {
      const map = tf.tidy(() => tf.max(tf.abs(tf.grad(score)(x)), -1));
      await map.data();
      map.dispose();
    }),
  ),
  reference: { label: 'PyTorch CPU, 2 threads', msLow: 23, msHigh: 45 },
  targets: { medianMs: 150 },
};

/** SmoothGrad and IG: 50 input gradients each (quick: 4), beside the naive loop and PyTorch's figure. */
function sampled(kind: 'smoothGrad' | 'ig', name: string, what: string, pytorchMs: number): Benchmark {
  return {
    name,
    suite: 'attribution',
    description: `${what}, ${SAMPLES} (quick: 4), MobileNetV2 224 px.`,
    cnnviz: cnnviz((m, x, quick) => {
      const n = quick ? 4 : SAMPLES;
      return kind === 'smoothGrad'
        ? attribution.smoothGrad(m, x, { target: TARGET, samples: n })
        : attribution.integratedGradients(m, x, { target: TARGET, steps: n });
    }, 2),
    stock: naiveGradientLoop(kind, 1),
    reference: pytorch(pytorchMs),
    targets: { medianMs: 4000 },
  };
}

const smoothGrad = sampled('smoothGrad', 'smoothgrad', 'SmoothGrad, samples', 1400);
const integratedGradients = sampled('ig', 'integrated-gradients', 'integrated gradients, steps', 1300);

const occlusion: Benchmark = {
  name: 'occlusion',
  suite: 'attribution',
  description: `occlusion, window ${WINDOW}, stride ${STRIDE} (quick: stride 56), MobileNetV2 224 px.`,
  cnnviz: cnnviz(
    (m, x, quick) =>
      attribution.occlusion(m, x, { target: TARGET, window: WINDOW, stride: quick ? 56 : STRIDE }),
    1,
  ),
  stock: (['wasm', 'cpu'] as const).map((b) => {
    const positions: [number, number][] = [];
    for (let y = 0; y + WINDOW <= SIZE; y += STRIDE)
      for (let x = 0; x + WINDOW <= SIZE; x += STRIDE) positions.push([y, x]);
    // One window at a time: mask, predict, read the score.
    return naive(b, positions.length, 60, async (score, x, n) => {
      for (const [y, xx] of positions.slice(0, n)) {
        const s = tf.tidy(() => {
          const mask = tf.pad(tf.ones([WINDOW, WINDOW, 1]), [
            [y, SIZE - y - WINDOW],
            [xx, SIZE - xx - WINDOW],
            [0, 0],
          ]);
          return score(tf.mul(x, tf.sub(1, mask)));
        });
        await s.data();
        s.dispose();
      }
    });
  }),
  reference: pytorch(17000),
  targets: { medianMs: 20000 },
};

export const ATTRIBUTION: Benchmark[] = [saliency, smoothGrad, integratedGradients, occlusion];
