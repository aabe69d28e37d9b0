/**
 * The zoo: one batch-1 `forward` of each @cnnviz/models zoo model at its nominal input size (load time in the
 * results' setup figure), beside stock tfjs-layers `predict` of the same backbone weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { zoo, zooEntries, zooLayersModel } from '@cnnviz/models';
import type { Benchmark, Step, Variant } from '../harness.js';

type ZooName = keyof typeof zoo;

function input(name: ZooName, quick: boolean): tf.Tensor4D {
  const [h, w, c] = zooEntries[name].inputSize;
  const s = quick ? Math.min(h, 96) : h;
  return tf.randomUniform([1, s, quick ? Math.min(w, 96) : w, c], 0, 1, 'float32', 1) as tf.Tensor4D;
}

/** Forces execution (async backends) and frees the output. */
function timed(run: () => tf.Tensor): Step {
  return async () => {
    const y = run();
    await y.data();
    y.dispose();
  };
}

function cnnviz(name: ZooName): Variant {
  return {
    label: `cnnviz zoo.${name} forward (wasm + fixes)`,
    backend: 'wasm',
    fixes: true,
    warmup: 1,
    iterations: 5,
    setup: async ({ quick }) => {
      const [h] = zooEntries[name].inputSize;
      // The backbones take other input sizes; quick runs them at 96 px.
      const backbone = zoo[name] as (o?: { inputSize?: number }) => ReturnType<(typeof zoo)[ZooName]>;
      const model = await (quick && name !== 'fashionCnn'
        ? backbone({ inputSize: Math.min(h, 96) })
        : zoo[name]());
      const x = input(name, quick && name !== 'fashionCnn');
      return timed(() => tf.tidy(() => model.forward(model.preprocess(x), [], { logits: true }).logits!));
    },
  };
}

/** The same weights run by stock tfjs-layers `predict`: the zoo's weight package loaded as a plain LayersModel. */
function stock(name: 'mobilenetV2Features' | 'inceptionV3Features', layer: string): Variant {
  return {
    label: 'stock wasm tfjs-layers predict',
    backend: 'wasm',
    fixes: false,
    warmup: 1,
    iterations: 5,
    setup: async () => {
      const [h] = zooEntries[name].inputSize;
      const net: tfl.LayersModel = await zooLayersModel(name, { cut: layer, inputSize: h });
      const x = input(name, false);
      return timed(() => net.predict(x) as tf.Tensor);
    },
  };
}

const entry = (name: ZooName, description: string, stockVariants: Variant[]): Benchmark => ({
  name: `zoo-${name}`,
  suite: 'zoo',
  description,
  cnnviz: cnnviz(name),
  stock: stockVariants,
});

export const ZOO: Benchmark[] = [
  entry('fashionCnn', 'zoo.fashionCnn() forward, 28 x 28 x 1, batch 1.', []),
  entry(
    'mobilenetV2Features',
    'zoo.mobilenetV2Features() forward to out_relu, 224 px (quick: 96 px), batch 1.',
    [stock('mobilenetV2Features', 'out_relu')],
  ),
  entry(
    'inceptionV3Features',
    'zoo.inceptionV3Features() forward to mixed10, 299 px (quick: 96 px), batch 1.',
    [stock('inceptionV3Features', 'mixed10')],
  ),
];
