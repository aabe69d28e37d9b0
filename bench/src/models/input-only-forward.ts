import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { inputOnlyConv2d, inputOnlyDepthwiseConv2d } from '@cnnviz/core';

type Fn = (inputs: tf.Tensor[]) => tf.Tensor;

interface Cfg {
  [k: string]: unknown;
}

function pair(v: unknown): [number, number] {
  return Array.isArray(v) ? [Number(v[0]), Number(v[1])] : [Number(v), Number(v)];
}

/**
 * Re-runs a functional LayersModel's graph with cnnviz's input-only convolutions and BatchNorm folded into the
 * preceding conv (inference maths unchanged). Stops before a final softmax, so it returns logits. Only the layer
 * classes MobileNetV2 uses are covered; the weights are the model's own tensors (or folded copies, freed by dispose).
 */
export function inputOnlyForward(model: tfl.LayersModel): {
  forward: (x: tf.Tensor4D) => tf.Tensor2D;
  dispose(): void;
} {
  const owned: tf.Tensor[] = [];
  const fns = new Map<string, { inputs: string[]; fn: Fn }>();
  const consumers = new Map<string, number>();
  const layers = model.layers;
  for (const l of layers) {
    for (const n of l.inboundNodes)
      for (const il of n.inboundLayers) consumers.set(il.name, (consumers.get(il.name) ?? 0) + 1);
  }
  const folded = new Set<string>();
  const last = model.outputLayers[0].name;

  for (const l of layers) {
    const cfg = l.getConfig() as Cfg;
    const inputs = l.inboundNodes.length === 0 ? [] : l.inboundNodes[0].inboundLayers.map((il) => il.name);
    const cls = l.getClassName();
    const w = l.getWeights();
    let fn: Fn;
    switch (cls) {
      case 'InputLayer':
        continue;
      case 'ZeroPadding2D': {
        const p = cfg.padding as [[number, number], [number, number]];
        fn = ([x]) => tf.pad(x, [[0, 0], p[0], p[1], [0, 0]]);
        break;
      }
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        let kernel = w[0] as tf.Tensor4D;
        let bias = cfg.useBias === true ? (w[1] as tf.Tensor1D) : undefined;
        // Fold a following BatchNormalization (sole consumer) into this conv: scale the output channels of the filter.
        const next = layers.find((n) => n.inboundNodes[0]?.inboundLayers[0]?.name === l.name);
        if (next?.getClassName() === 'BatchNormalization' && consumers.get(l.name) === 1) {
          const bcfg = next.getConfig() as Cfg;
          const bw = next.getWeights();
          let i = 0;
          const gamma = bcfg.scale !== false ? bw[i++] : tf.onesLike(bw[bw.length - 1]);
          const beta = bcfg.center !== false ? bw[i++] : tf.zerosLike(bw[bw.length - 1]);
          const mean = bw[i++];
          const variance = bw[i++];
          const scale = tf.div(gamma, tf.sqrt(tf.add(variance, Number(bcfg.epsilon ?? 1e-3))));
          const depthwise = cls === 'DepthwiseConv2D';
          const [fH, fW, c, m] = kernel.shape;
          kernel = depthwise
            ? (tf.reshape(tf.mul(tf.reshape(kernel, [fH, fW, c * m]), scale), [fH, fW, c, m]) as tf.Tensor4D)
            : tf.mul(kernel, scale);
          bias = tf.add(tf.mul(tf.sub(bias ?? tf.zerosLike(mean), mean), scale), beta) as tf.Tensor1D;
          owned.push(kernel, bias);
          folded.add(next.name);
        }
        const strides = pair(cfg.strides);
        const pad = cfg.padding as 'same' | 'valid';
        const dilations = pair(cfg.dilationRate ?? 1);
        const activation = cfg.activation === 'relu' ? 'relu' : 'linear';
        const k = kernel;
        const b = bias;
        fn =
          cls === 'Conv2D'
            ? ([x]) => inputOnlyConv2d(x as tf.Tensor4D, k, { strides, pad, dilations, bias: b, activation })
            : ([x]) =>
                inputOnlyDepthwiseConv2d(x as tf.Tensor4D, k, {
                  strides,
                  pad,
                  dilations,
                  bias: b,
                  activation,
                });
        break;
      }
      case 'BatchNormalization': {
        if (folded.has(l.name)) {
          fn = ([x]) => x;
          break;
        }
        throw new Error(`unfolded BatchNormalization ${l.name}`);
      }
      case 'ReLU': {
        const max = cfg.maxValue;
        fn = max === 6 ? ([x]) => tf.relu6(x) : ([x]) => tf.relu(x);
        break;
      }
      case 'Add':
        fn = (xs) => tf.addN(xs);
        break;
      case 'AveragePooling2D': {
        const size = pair(cfg.poolSize);
        const strides = pair(cfg.strides ?? cfg.poolSize);
        fn = ([x]) => tf.avgPool(x as tf.Tensor4D, size, strides, cfg.padding as 'valid');
        break;
      }
      case 'GlobalAveragePooling2D':
        fn = ([x]) => tf.mean(x, [1, 2]);
        break;
      case 'Flatten':
        fn = ([x]) => tf.reshape(x, [x.shape[0], -1]);
        break;
      case 'Dropout':
        fn = ([x]) => x;
        break;
      case 'Dense': {
        const act = l.name === last && cfg.activation === 'softmax' ? 'linear' : cfg.activation;
        const [k, b] = w as [tf.Tensor2D, tf.Tensor1D];
        fn = ([x]) => {
          const y = tf.add(tf.matMul(x as tf.Tensor2D, k), b);
          return act === 'relu' ? tf.relu(y) : act === 'linear' ? y : tf.softmax(y);
        };
        break;
      }
      default:
        throw new Error(`layer class ${cls} (${l.name}) not covered`);
    }
    fns.set(l.name, { inputs, fn });
  }
  const inputName = model.inputLayers[0].name;
  return {
    forward: (x) => {
      const values = new Map<string, tf.Tensor>([[inputName, x]]);
      for (const [name, { inputs, fn }] of fns)
        values.set(name, fn(inputs.map((i) => values.get(i) as tf.Tensor)));
      return values.get(last) as tf.Tensor2D;
    },
    dispose: () => tf.dispose(owned),
  };
}
