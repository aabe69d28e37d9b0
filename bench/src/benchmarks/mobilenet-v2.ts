import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { zoo } from '@cnnviz/models';
import type { Benchmark, Variant } from '../harness.js';
import { inputOnlyForward } from '../models/input-only-forward.js';
import { loadStockMobileNetV2 } from '../models/stock-mobilenet.js';

const UNIT = 2;

function input(): tf.Tensor4D {
  return tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
}

/** One output unit, picked with `gather` as users do (its gradient is UnsortedSegmentSum). */
function unit(y: tf.Tensor): tf.Scalar {
  return tf.sum(tf.gather(y, [UNIT], 1));
}

function gradStep(f: (t: tf.Tensor) => tf.Scalar, x: tf.Tensor): () => void {
  return () => {
    const g = tf.grad(f)(x);
    g.dataSync();
    g.dispose();
  };
}

/** The library path: @cnnviz/models' VisionModel (input-only convs, BatchNorm as tf.batchNorm), pixels in. */
const cnnvizZoo: Variant = {
  label: 'cnnviz zoo.mobilenetV2Features (wasm + fixes)',
  backend: 'wasm',
  fixes: true,
  warmup: 2,
  iterations: 7,
  setup: async () => {
    const model = await zoo.mobilenetV2Features();
    const x = input();
    return gradStep((t) => unit(model.forward(model.preprocess(t as tf.Tensor4D)).logits), x);
  },
};

/** The same network with BatchNorm folded into the convs (what a VisionModel could do at load time). */
const cnnvizFolded: Variant = {
  label: 'cnnviz, the graph rebuilt with input-only convs + BatchNorm folded (wasm + fixes)',
  backend: 'wasm',
  fixes: true,
  warmup: 2,
  iterations: 7,
  setup: async () => {
    const model = await loadStockMobileNetV2();
    const net = inputOnlyForward(model);
    const x = input();
    // The rebuilt graph must compute what the model computes (relative to the features' scale).
    tf.tidy(() => {
      const want = (model.predict(x) as tf.Tensor).dataSync();
      const got = net.forward(x).dataSync();
      const scale = Math.max(1, ...want.map(Math.abs));
      const err = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
      if (!(err < 1e-4 * scale))
        throw new Error(`rebuilt MobileNetV2 differs from the model: max |diff| ${err}`);
    });
    return gradStep((t) => unit(net.forward(t as tf.Tensor4D)), x);
  },
};

function stock(backend: 'wasm' | 'cpu', iterations: number): Variant {
  return {
    label: `stock ${backend} (tf.loadLayersModel, model.apply)`,
    backend,
    fixes: false,
    warmup: backend === 'cpu' ? 0 : 1,
    iterations,
    setup: async () => {
      const model: tfl.LayersModel = await loadStockMobileNetV2();
      const x = input();
      return gradStep((t) => unit(model.apply(t, { training: false }) as tf.Tensor), x);
    },
  };
}

export const mobilenetV2: Benchmark = {
  name: 'mobilenetv2-saliency',
  suite: 'kernels',
  description:
    "MobileNetV2 (the zoo's ImageNet backbone, @cnnviz/zoo-mobilenet-v2), 224x224, gradient of one output unit " +
    'w.r.t. the input. cnnviz = zoo.mobilenetV2Features (one pooled out_relu feature) on wasm with kernel fixes; ' +
    'stock = the same weights as a tf.LayersModel with global average pooling (the same pooled feature) under ' +
    'tf.grad, on stock wasm, else stock cpu.',
  cnnviz: cnnvizZoo,
  extras: [cnnvizFolded],
  stock: [stock('wasm', 3), stock('cpu', 1)],
  reference: { label: 'PyTorch 1.13, 2 threads', msLow: 23, msHigh: 45 },
  targets: { medianMs: 150, speedupVsStock: 5 },
};
