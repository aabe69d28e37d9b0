// Test helper (not exported): tiny hand-built VisionModels written directly with tf ops, so the
// attribution tests depend on nothing but the VisionModel contract.
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { LayerInfo, VisionModel } from '@cnnviz/core';

export type LayerSpec =
  | {
      type: 'conv';
      name: string;
      /** [kh, kw, cin, cout] */
      shape: [number, number, number, number];
      kernel: ArrayLike<number>;
      bias: ArrayLike<number>;
      stride?: number;
      padding?: 'valid' | 'same';
    }
  | { type: 'relu' | 'tanh'; name: string }
  | { type: 'maxpool'; name: string; size: number; stride?: number }
  | { type: 'flatten'; name: string; order?: 'hwc' | 'chw' }
  | {
      type: 'dense';
      name: string;
      shape: [number, number];
      kernel: ArrayLike<number>;
      bias: ArrayLike<number>;
    };

export interface TinyNet extends VisionModel {
  vars: Record<string, tf.Variable[]>;
  dispose(): void;
}

/** A sequential net over `[N,H,W,C]` input; `preprocess` defaults to the identity. */
export function tinyNet(
  inputShape: [number, number, number],
  specs: LayerSpec[],
  preprocess: (x: tf.Tensor4D) => tf.Tensor4D = (x) => tf.clone(x),
): TinyNet {
  const vars: Record<string, tf.Variable[]> = {};
  const layers: LayerInfo[] = [];
  let shape: number[] = [...inputShape];
  for (const s of specs) {
    if (s.type === 'conv') {
      const [kh, kw, , cout] = s.shape;
      const stride = s.stride ?? 1;
      const padding = s.padding ?? 'valid';
      vars[s.name] = [
        tf.variable(tf.tensor4d(Array.from(s.kernel), s.shape)),
        tf.variable(tf.tensor1d(Array.from(s.bias))),
      ];
      const out = (n: number, k: number) =>
        padding === 'same' ? Math.ceil(n / stride) : Math.floor((n - k) / stride) + 1;
      shape = [out(shape[0], kh), out(shape[1], kw), cout];
      layers.push({
        name: s.name,
        kind: 'Conv2D',
        outputShape: shape,
        kernel: { size: [kh, kw], strides: [stride, stride], padding },
      });
    } else if (s.type === 'maxpool') {
      const stride = s.stride ?? s.size;
      shape = [
        Math.floor((shape[0] - s.size) / stride) + 1,
        Math.floor((shape[1] - s.size) / stride) + 1,
        shape[2],
      ];
      layers.push({
        name: s.name,
        kind: 'MaxPooling2D',
        outputShape: shape,
        kernel: { size: [s.size, s.size], strides: [stride, stride], padding: 'valid' },
      });
    } else if (s.type === 'flatten') {
      shape = [shape.reduce((a, b) => a * b, 1)];
      layers.push({ name: s.name, kind: 'Flatten', outputShape: shape });
    } else if (s.type === 'dense') {
      vars[s.name] = [
        tf.variable(tf.tensor2d(Array.from(s.kernel), s.shape)),
        tf.variable(tf.tensor1d(Array.from(s.bias))),
      ];
      shape = [s.shape[1]];
      layers.push({ name: s.name, kind: 'Dense', outputShape: shape });
    } else {
      layers.push({ name: s.name, kind: s.type === 'relu' ? 'ReLU' : 'Activation', outputShape: shape });
    }
  }
  return {
    inputShape,
    layers,
    vars,
    preprocess: (img) =>
      tf.tidy(() => preprocess((img.rank === 3 ? tf.expandDims(img, 0) : img) as tf.Tensor4D)),
    forward(x, taps = []) {
      const activations: Record<string, tf.Tensor> = {};
      let h: tf.Tensor = x;
      for (const s of specs) {
        if (s.type === 'conv') {
          const [k, b] = vars[s.name];
          h = tf.add(tf.conv2d(h as tf.Tensor4D, k as tf.Tensor4D, s.stride ?? 1, s.padding ?? 'valid'), b);
        } else if (s.type === 'relu') h = tf.relu(h);
        else if (s.type === 'tanh') h = tf.tanh(h);
        else if (s.type === 'maxpool') h = tf.maxPool(h as tf.Tensor4D, s.size, s.stride ?? s.size, 'valid');
        else if (s.type === 'flatten') {
          const src = s.order === 'chw' ? tf.transpose(h, [0, 3, 1, 2]) : h;
          h = tf.reshape(src, [h.shape[0], -1]);
        } else {
          const [k, b] = vars[s.name];
          h = tf.add(tf.matMul(h as tf.Tensor2D, k as tf.Tensor2D), b);
        }
        if (taps.includes(s.name)) activations[s.name] = h;
      }
      return { logits: h as tf.Tensor2D, activations };
    },
    getWeights: (layer) => vars[layer] ?? [],
    setWeights(layer, ws) {
      vars[layer].forEach((v, i) => v.assign(ws[i]));
    },
    dispose() {
      Object.values(vars)
        .flat()
        .forEach((v) => v.dispose());
    },
  };
}

/**
 * Captum's BasicModel_ConvNet_One_Conv in HWC: conv1 (1→2 channels, 3x3, weights all ones, bias
 * [-50, -75]) → ReLU → flatten in PyTorch's channel-major order → fc1 (8→4, weights
 * [1,1,1,1,1,-1,-1,-1] for every output, bias 0) → ReLU. Input `[4,4,1]`.
 */
export function captumConvNet(): TinyNet {
  return tinyNet(
    [4, 4, 1],
    [
      { type: 'conv', name: 'conv1', shape: [3, 3, 1, 2], kernel: new Array(18).fill(1), bias: [-50, -75] },
      { type: 'relu', name: 'relu1' },
      { type: 'flatten', name: 'flatten', order: 'chw' },
      {
        type: 'dense',
        name: 'fc1',
        shape: [8, 4],
        kernel: Array.from({ length: 32 }, (_, i) => (Math.floor(i / 4) < 5 ? 1 : -1)),
        bias: [0, 0, 0, 0],
      },
      { type: 'relu', name: 'relu2' },
    ],
  );
}

/** Seeded uniform values in [-scale, scale] (a tiny LCG: tests need no core helper for this). */
export function seeded(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 * scale - scale;
  });
}

/**
 * A small random RGB net: conv 3→4 (3x3, same) → ReLU → conv 4→6 (3x3, stride 2, same) → ReLU →
 * flatten → dense → 5 classes, with preprocessing x*2-1 so gradients must pass through it.
 * `activation: 'tanh'` makes it smooth (for finite differences and quadrature accuracy); the
 * layer names stay relu1/relu2.
 */
export function smallRgbNet(seed = 1, size = 8, activation: 'relu' | 'tanh' = 'relu'): TinyNet {
  const h2 = Math.ceil(size / 2);
  return tinyNet(
    [size, size, 3],
    [
      {
        type: 'conv',
        name: 'conv1',
        shape: [3, 3, 3, 4],
        kernel: seeded(108, seed, 0.5),
        bias: seeded(4, seed + 1, 0.1),
        padding: 'same',
      },
      { type: activation, name: 'relu1' },
      {
        type: 'conv',
        name: 'conv2',
        shape: [3, 3, 4, 6],
        kernel: seeded(216, seed + 2, 0.4),
        bias: seeded(6, seed + 3, 0.1),
        stride: 2,
        padding: 'same',
      },
      { type: activation, name: 'relu2' },
      { type: 'flatten', name: 'flatten' },
      {
        type: 'dense',
        name: 'fc',
        shape: [h2 * h2 * 6, 5],
        kernel: seeded(h2 * h2 * 30, seed + 4, 0.3),
        bias: seeded(5, seed + 5, 0.1),
      },
    ],
    (x) => tf.sub(tf.mul(x, 2), 1),
  );
}

/** Seeded image with values in 0..1. */
export function seededImage(shape: [number, number, number], seed: number): tf.Tensor3D {
  return tf.tensor3d(
    seeded(shape[0] * shape[1] * shape[2], seed, 0.5).map((v) => v + 0.5),
    shape,
  );
}

/** Asserts `fn` leaves the number of live tensors unchanged. */
export async function expectNoLeak(fn: () => Promise<unknown> | unknown): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  expect(tf.memory().numTensors).toBe(before);
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (Math.abs(actual[i] - expected[i]) > tol) {
      throw new Error(`element ${i}: got ${actual[i]}, expected ${expected[i]} (tolerance ${tol})`);
    }
  }
}
