import * as tf from '@tensorflow/tfjs-core';
import { createRng, randomNormal, type LayerInfo, type VisionModel } from '@cnnviz/core';

/**
 * A tiny fully convolutional VisionModel with fixed random weights, for tests: conv1 (3x3, 8) ->
 * relu -> pool1 (2x2) -> conv2 (3x3, 16) -> relu -> pool2 -> conv3 (3x3, 16) -> relu -> global
 * mean -> dense logits. `size` null makes it accept any input size.
 */
export function tinyModel(
  opts: { size?: number | null; channels?: number; classes?: number; seed?: number } = {},
): VisionModel & {
  dispose(): void;
} {
  const c = opts.channels ?? 3;
  const classes = opts.classes ?? 4;
  const size = opts.size === undefined ? null : opts.size;
  const rng = createRng(opts.seed ?? 1);
  const he = (shape: number[], fanIn: number) =>
    tf.tidy(() => tf.mul(randomNormal(shape, rng), Math.sqrt(2 / fanIn)));
  const w1 = he([3, 3, c, 8], 9 * c) as tf.Tensor4D;
  const w2 = he([3, 3, 8, 16], 72) as tf.Tensor4D;
  const w3 = he([3, 3, 16, 16], 144) as tf.Tensor4D;
  const wd = he([16, classes], 16) as tf.Tensor2D;
  const b1 = tf.fill([8], 0.05);
  const conv = (name: string, ch: number): LayerInfo => ({
    name,
    kind: 'Conv2D',
    outputShape: [null, null, ch],
    kernel: { size: [3, 3], strides: [1, 1], padding: 'same' },
  });
  const pool = (name: string, ch: number): LayerInfo => ({
    name,
    kind: 'MaxPooling2D',
    outputShape: [null, null, ch],
    kernel: { size: [2, 2], strides: [2, 2], padding: 'valid' },
  });
  const layers: LayerInfo[] = [
    conv('conv1', 8),
    { name: 'relu1', kind: 'ReLU', outputShape: [null, null, 8] },
    pool('pool1', 8),
    conv('conv2', 16),
    { name: 'relu2', kind: 'ReLU', outputShape: [null, null, 16] },
    pool('pool2', 16),
    conv('conv3', 16),
    { name: 'relu3', kind: 'ReLU', outputShape: [null, null, 16] },
    { name: 'gap', kind: 'GlobalAveragePooling2D', outputShape: [16] },
    { name: 'logits', kind: 'Dense', outputShape: [classes] },
  ];
  return {
    inputShape: [size, size, c],
    layers,
    labels: Array.from({ length: classes }, (_, i) => `class${i}`),
    inputRange: [-1, 1],
    preprocess: (img) =>
      tf.tidy(() => tf.sub(tf.mul(img.rank === 3 ? tf.expandDims(img, 0) : img, 2), 1)) as tf.Tensor4D,
    forward(x, taps = []) {
      const acts: Record<string, tf.Tensor> = {};
      const put = (name: string, t: tf.Tensor) => {
        if (taps.includes(name)) acts[name] = t;
        return t;
      };
      const c1 = put('conv1', tf.add(tf.conv2d(x, w1, 1, 'same'), b1)) as tf.Tensor4D;
      const r1 = put('relu1', tf.relu(c1)) as tf.Tensor4D;
      const p1 = put('pool1', tf.maxPool(r1, 2, 2, 'valid')) as tf.Tensor4D;
      const c2 = put('conv2', tf.conv2d(p1, w2, 1, 'same')) as tf.Tensor4D;
      const r2 = put('relu2', tf.relu(c2)) as tf.Tensor4D;
      const p2 = put('pool2', tf.maxPool(r2, 2, 2, 'valid')) as tf.Tensor4D;
      const c3 = put('conv3', tf.conv2d(p2, w3, 1, 'same')) as tf.Tensor4D;
      const r3 = put('relu3', tf.relu(c3)) as tf.Tensor4D;
      const g = put('gap', tf.mean(r3, [1, 2])) as tf.Tensor2D;
      const logits = put('logits', tf.matMul(g, wd)) as tf.Tensor2D;
      return { logits, activations: acts };
    },
    dispose() {
      for (const t of [w1, w2, w3, wd, b1]) t.dispose();
    },
  };
}

/** A smooth random test image `[h,w,c]` in 0..1 (blurred noise plus a gradient). */
export function testImage(h: number, w: number, c = 3, seed = 7): tf.Tensor3D {
  const rng = createRng(seed);
  return tf.tidy(() => {
    const noise = randomNormal([1, h, w, c], rng, 0, 1) as tf.Tensor4D;
    const smooth = tf.avgPool(
      tf.pad(
        noise,
        [
          [0, 0],
          [2, 2],
          [2, 2],
          [0, 0],
        ],
        0,
      ),
      5,
      1,
      'valid',
    );
    const ramp = tf.reshape(tf.linspace(0, 1, w), [1, 1, w, 1]);
    return tf.squeeze(
      tf.clipByValue(tf.add(tf.mul(smooth, 0.5), tf.add(tf.mul(ramp, 0.5), 0.25)), 0, 1),
      [0],
    );
  }) as tf.Tensor3D;
}
