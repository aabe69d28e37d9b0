import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Benchmark, Variant } from '../harness.js';
import { inputOnlyForward } from '../models/input-only-forward.js';
import { loadNsfwMobileNetV2 } from '../models/nsfw-mobilenet.js';

const UNIT = 2;

function input(): tf.Tensor4D {
  return tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
}

/** Gradient of one output unit w.r.t. the input (saliency), picking the unit with `gather` as users do. */
function unit(y: tf.Tensor): tf.Scalar {
  return tf.sum(tf.gather(y, [UNIT], 1));
}

const cnnviz: Variant = {
  label: 'cnnviz (wasm + fixes, input-only convs)',
  backend: 'wasm',
  fixes: true,
  warmup: 2,
  iterations: 7,
  setup: async () => {
    const model = await loadNsfwMobileNetV2();
    const net = inputOnlyForward(model);
    const x = input();
    // The rebuilt graph must compute what the model computes (softmax of our logits = the model's output).
    tf.tidy(() => {
      const want = (model.predict(x) as tf.Tensor).dataSync();
      const got = tf.softmax(net.forward(x)).dataSync();
      const err = Math.max(...want.map((v, i) => Math.abs(v - got[i])));
      if (!(err < 1e-4)) throw new Error(`rebuilt MobileNetV2 differs from the model: max |diff| ${err}`);
    });
    const f = (t: tf.Tensor) => unit(net.forward(t as tf.Tensor4D));
    return () => {
      const g = tf.grad(f)(x);
      g.dataSync();
      g.dispose();
    };
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
      const model: tfl.LayersModel = await loadNsfwMobileNetV2();
      const x = input();
      const f = (t: tf.Tensor) => unit(model.apply(t, { training: false }) as tf.Tensor);
      return () => {
        const g = tf.grad(f)(x);
        g.dataSync();
        g.dispose();
      };
    },
  };
}

export const mobilenetV2: Benchmark = {
  name: 'mobilenetv2-saliency',
  description:
    "nsfwjs's MobileNetV2 (ImageNet backbone), 224x224, gradient of one output unit w.r.t. the input. " +
    'cnnviz = the same graph with input-only convs and BatchNorm folded into them, on wasm with kernel fixes; ' +
    'stock = tf.loadLayersModel + model.apply under tf.grad on stock wasm, else stock cpu.',
  cnnviz,
  stock: [stock('wasm', 3), stock('cpu', 1)],
  reference: { label: 'PyTorch 1.13, 2 threads', msLow: 23, msHigh: 45 },
  targets: { medianMs: 150, speedupVsStock: 5 },
};
