import * as tf from '@tensorflow/tfjs-core';
import { inputOnlyConv2d } from '@cnnviz/core';
import type { Benchmark, Variant } from '../harness.js';

// VGG16's conv base (13 3x3 convs, 5 max-pools), random He-initialised weights: no VGG weights exist offline.
const BLOCKS = [
  [64, 64],
  [128, 128],
  [256, 256, 256],
  [512, 512, 512],
  [512, 512, 512],
];
const SIZE = 224;

interface Conv {
  w: tf.Tensor4D;
  b: tf.Tensor1D;
}

function makeWeights(): Conv[] {
  const convs: Conv[] = [];
  let inC = 3;
  let seed = 1;
  for (const block of BLOCKS) {
    for (const outC of block) {
      const w = tf.randomNormal(
        [3, 3, inC, outC],
        0,
        Math.sqrt(2 / (9 * inC)),
        'float32',
        seed++,
      ) as tf.Tensor4D;
      convs.push({ w, b: tf.zeros([outC]) as tf.Tensor1D });
      inC = outC;
    }
  }
  return convs;
}

type ConvFn = (x: tf.Tensor4D, c: Conv) => tf.Tensor4D;

function forward(x: tf.Tensor4D, convs: Conv[], conv: ConvFn): tf.Tensor4D {
  let h = x;
  let i = 0;
  for (const block of BLOCKS) {
    for (let j = 0; j < block.length; j++) h = conv(h, convs[i++]);
    h = tf.maxPool(h, 2, 2, 'valid');
  }
  return h;
}

/** Input gradient of one unit (channel 7, summed over the 7x7 positions) of the last pooled feature map. */
function variant(label: string, fixes: boolean, conv: ConvFn, warmup: number, iterations: number): Variant {
  return {
    label,
    backend: 'wasm',
    fixes,
    warmup,
    iterations,
    setup: async () => {
      const convs = makeWeights();
      const x = tf.randomUniform([1, SIZE, SIZE, 3], 0, 1, 'float32', 42) as tf.Tensor4D;
      const f = (t: tf.Tensor) =>
        tf.sum(tf.slice(forward(t as tf.Tensor4D, convs, conv), [0, 0, 0, 7], [1, -1, -1, 1]));
      return () => {
        const g = tf.grad(f)(x);
        g.dataSync();
        g.dispose();
      };
    },
  };
}

export const vgg16: Benchmark = {
  name: 'vgg16-input-grad',
  suite: 'kernels',
  description:
    'VGG16 conv base (random weights), 224x224, gradient of one unit of the last feature map w.r.t. the input. ' +
    'Stock = the same network from unfused tf.conv2d + add + relu on stock wasm (its best case: a LayersModel ' +
    'would also need the missing Conv2DBackpropFilter); cnnviz = inputOnlyConv2d on wasm with kernel fixes.',
  cnnviz: variant(
    'cnnviz (wasm + fixes)',
    true,
    (x, c) => inputOnlyConv2d(x, c.w, { strides: 1, pad: 'same', bias: c.b, activation: 'relu' }),
    1,
    3,
  ),
  stock: [
    variant(
      'stock wasm',
      false,
      (x, c) => tf.relu(tf.add(tf.conv2d(x, c.w, 1, 'same'), c.b)) as tf.Tensor4D,
      // ~8 s a call even on a quiet machine, and nothing to warm up (no XNNPACK operators): one timed call.
      0,
      1,
    ),
  ],
  reference: { label: 'PyTorch 1.13, 2 threads', msLow: 322, msHigh: 341 },
  targets: { speedupVsStock: 3 },
};
