/**
 * Synthesis: style transfer, DeepDream and the fast style network, cnnviz (WASM + kernel fixes) beside the same loop
 * written with stock TF.js. Stock WASM cannot take these gradients (no DepthwiseConv2dNativeBackpropInput /
 * Conv2DBackpropFilter): its row fails and says so, and the stock CPU loop is timed on a few steps and extrapolated.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { resize, run } from '@cnnviz/core';
import { images, zooLayersModel, zoo, zooEntries } from '@cnnviz/models';
import * as synthesis from '@cnnviz/synthesis';
import type { Benchmark, Variant } from '../harness.js';

const STYLE_STEPS = 100;
const mobilenet = zooEntries.mobilenetV2Features.layersOfInterest;

const gram = (a: tf.Tensor4D) =>
  tf.tidy(() => {
    const [, h, w, c] = a.shape;
    const f = tf.reshape(a, [h * w, c]);
    return tf.div(tf.matMul(f, f, true, false), h * w);
  });

const rel = (a: tf.Tensor, b: tf.Tensor) => tf.div(tf.sum(tf.square(tf.sub(a, b))), tf.sum(tf.square(b)));

function tv(x: tf.Tensor4D): tf.Scalar {
  const [, h, w] = x.shape;
  const dy = tf.sub(
    tf.slice(x, [0, 1, 0, 0], [-1, h - 1, -1, -1]),
    tf.slice(x, [0, 0, 0, 0], [-1, h - 1, -1, -1]),
  );
  const dx = tf.sub(
    tf.slice(x, [0, 0, 1, 0], [-1, -1, w - 1, -1]),
    tf.slice(x, [0, 0, 0, 0], [-1, -1, w - 1, -1]),
  );
  return tf.add(tf.mean(tf.square(dy)), tf.mean(tf.square(dx)));
}

function styleCnnviz(param: 'fourier' | 'pixel'): Variant {
  return {
    label: `cnnviz transferStyle, ${param} (wasm + fixes)`,
    backend: 'wasm',
    fixes: true,
    warmup: 1,
    iterations: 3,
    setup: async ({ quick }) => {
      const size = quick ? 128 : 256;
      const content = resize(await images.load('astronaut'), [size, size]);
      const style = await images.load('starry_night');
      const model = await zoo.mobilenetV2Features({ inputSize: size });
      // The user's call: the zoo entry's default layers and weights.
      const steps = quick ? 5 : STYLE_STEPS;
      return async () => {
        const last = await run(
          synthesis.transferStyle(model, content, [{ image: style, weight: 1 }], { steps, param }),
        );
        last.image?.dispose();
      };
    },
  };
}

/** The same Gatys loop in plain TF.js: a multi-output LayersModel, Gram matrices, Adam on pixels; one step timed. */
function styleStock(backend: 'wasm' | 'cpu'): Variant {
  return {
    label: `stock ${backend} (Gatys loop, pixel Adam)`,
    backend,
    fixes: false,
    warmup: 1,
    iterations: 3,
    scale: STYLE_STEPS,
    note: `median step x ${STYLE_STEPS}`,
    setup: async () => {
      const content = resize(await images.load('astronaut'), [256, 256]);
      const style = await images.load('starry_night');
      const net = await zooLayersModel('mobilenetV2Features', { cut: 'out_relu', inputSize: 256 });
      const styleLayers = mobilenet.style;
      const names = [mobilenet.content, ...styleLayers.filter((l) => l !== mobilenet.content)];
      const taps = tfl.model({
        inputs: net.inputs,
        outputs: names.map((l) => net.getLayer(l).output as tfl.SymbolicTensor),
      });
      const styleIndex = styleLayers.map((l) => names.indexOf(l));
      const feats = (x: tf.Tensor) => taps.apply(x) as tf.Tensor4D[];
      const x0 = tf.expandDims(content, 0) as tf.Tensor4D;
      const contentT = tf.tidy(() => tf.keep(feats(x0)[0]));
      const styleG = tf.tidy(() => {
        const o = feats(tf.expandDims(resize(style, [256, 256]), 0));
        return styleIndex.map((i) => tf.keep(gram(o[i])));
      });
      const img = tf.variable(x0.clone());
      const opt = tf.train.adam(0.02);
      return () => {
        const loss = opt.minimize(
          () => {
            const o = feats(img);
            let l = rel(o[0], contentT);
            styleIndex.forEach((i, k) => {
              l = tf.add(l, tf.mul(rel(gram(o[i]), styleG[k]), 100 / styleLayers.length));
            });
            return tf.add(l, tf.mul(tv(img as tf.Tensor4D), 10)) as tf.Scalar;
          },
          true,
          [img],
        );
        tf.tidy(() => img.assign(tf.clipByValue(img, 0, 1)));
        loss?.dataSync();
        loss?.dispose();
      };
    },
  };
}

async function dreamImage(side: number): Promise<tf.Tensor3D> {
  const cat = await images.load('chelsea');
  const [h, w] = cat.shape;
  const k = side / Math.max(h, w);
  const img = resize(cat, [Math.round(h * k), Math.round(w * k)]);
  cat.dispose();
  return img;
}

const dream: Benchmark = {
  name: 'deep-dream',
  suite: 'synthesis',
  description:
    "deepDream, 3 octaves of 10 steps at 320 px (quick: 2 octaves of 3 steps at 160 px), the zoo entry's dream layer.",
  cnnviz: {
    label: 'cnnviz deepDream (wasm + fixes)',
    backend: 'wasm',
    fixes: true,
    warmup: 1,
    iterations: 3,
    setup: async ({ quick }) => {
      const side = quick ? 160 : 320;
      const img = await dreamImage(side);
      const model = await zoo.mobilenetV2Features({ inputSize: side });
      return async () => {
        const last = await run(
          synthesis.deepDream(model, img, {
            octaves: quick ? 2 : 3,
            octaveScale: 1.4,
            steps: quick ? 3 : 10,
          }),
        );
        last.image?.dispose();
      };
    },
  },
  // Stock: the smallest octave's gradient step (a LayersModel has a fixed input size), x 30 steps.
  stock: (['wasm', 'cpu'] as const).map((backend): Variant => ({
    label: `stock ${backend} (tf.grad of the layer's mean square)`,
    backend,
    fixes: false,
    warmup: 1,
    iterations: 3,
    scale: 30,
    note: 'median step at the full 320 px octave x 30 (the smaller octaves cost less: an upper bound)',
    setup: async () => {
      const img = await dreamImage(320);
      const net = await zooLayersModel('mobilenetV2Features', { cut: 'out_relu', inputSize: 320 });
      const tap = tfl.model({
        inputs: net.inputs,
        outputs: net.getLayer(mobilenet.dream[0]).output as tfl.SymbolicTensor,
      });
      const [h, w] = img.shape;
      let current: tf.Tensor3D = img.clone();
      return () => {
        const next = tf.tidy(() => {
          const padded = tf.pad(tf.expandDims(current, 0), [
            [0, 0],
            [0, 320 - h],
            [0, 320 - w],
            [0, 0],
          ]);
          const g = tf.grad((t: tf.Tensor) => tf.mean(tf.square(tap.apply(t) as tf.Tensor)))(padded);
          const gs = tf.slice(g, [0, 0, 0, 0], [1, h, w, 3]);
          return tf.squeeze(
            tf.clipByValue(
              tf.add(current, tf.mul(tf.div(gs, tf.add(tf.mean(tf.abs(gs)), 1e-8)), 0.01)),
              0,
              1,
            ),
            [0],
          ) as tf.Tensor3D;
        });
        current.dispose();
        current = next;
        next.dataSync();
      };
    },
  })),
  targets: { medianMs: 30_000 },
};

const style: Benchmark = {
  name: 'style-transfer',
  suite: 'synthesis',
  description: `transferStyle 256 px, ${STYLE_STEPS} Adam steps (quick: 128 px, 5 steps), MobileNetV2 features, the zoo entry's default layers.`,
  cnnviz: styleCnnviz('fourier'),
  extras: [styleCnnviz('pixel')],
  stock: [styleStock('wasm'), styleStock('cpu')],
  reference: { label: 'PyTorch CPU, same backbone, 2 threads', msLow: 4700, msHigh: 4700 },
  targets: { medianMs: 20_000 },
};

/** One forward pass of the bundled style network: cnnviz's layer-by-layer path, or the LayersModel's own predict. */
function fastStyle(stockPredict: boolean): Variant {
  return {
    label: stockPredict ? 'stock wasm LayersModel.predict' : 'cnnviz applyStyleNetwork (wasm + fixes)',
    backend: 'wasm',
    fixes: !stockPredict,
    warmup: 3,
    iterations: 10,
    setup: async () => {
      const net = await synthesis.loadBundledStyleNetwork('starry_night');
      const img = resize(await images.load('astronaut'), [256, 256]);
      return () => {
        const y = stockPredict
          ? tf.tidy(() => net.model.predict(tf.expandDims(img, 0)) as tf.Tensor)
          : synthesis.applyStyleNetwork(net, img);
        y.dataSync();
        y.dispose();
      };
    },
  };
}

const fast: Benchmark = {
  name: 'fast-style',
  suite: 'synthesis',
  description: 'applyStyleNetwork 256 px, the bundled Starry Night network.',
  cnnviz: fastStyle(false),
  stock: [fastStyle(true)],
  targets: { medianMs: 300 },
};

export const SYNTHESIS: Benchmark[] = [style, dream, fast];
