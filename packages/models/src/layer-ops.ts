import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { inputOnlyConv2d, inputOnlyDepthwiseConv2d, type LayerInfo } from '@cnnviz/core';
import { weightsByName, zeroPadding } from './fold.js';

type Config = Record<string, unknown>;
type ConvActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'tanh' | 'leakyrelu';
const CONV_ACTIVATIONS = new Set(['linear', 'relu', 'relu6', 'elu', 'sigmoid', 'tanh']);

/** Layers that do nothing at inference time. */
const IDENTITY = new Set([
  'InputLayer',
  'Dropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'ActivityRegularization',
  'Masking',
]);

/** Layer classes whose last activation may be a softmax that the adapter strips. */
const HAS_ACTIVATION = new Set(['Dense', 'Conv2D', 'DepthwiseConv2D', 'SeparableConv2D']);

function pair(v: unknown, fallback = 1): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length >= 2) return [Number(v[0]), Number(v[1])];
  return [fallback, fallback];
}

function activationName(cfg: Config): string {
  const a = cfg.activation;
  if (typeof a === 'string') return a;
  if (a && typeof a === 'object' && 'className' in a) return String((a as { className: string }).className);
  return 'linear';
}

/** Keras/tfjs activation names → ops, as separate ops so gradient overrides (guided ReLU) see them. */
export function applyActivation(x: tf.Tensor, name: string): tf.Tensor {
  switch (name.toLowerCase()) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'relu6':
      return tf.relu6(x);
    case 'elu':
      return tf.elu(x);
    case 'selu':
      return tf.selu(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'hardsigmoid':
    case 'hard_sigmoid':
      return tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1);
    case 'tanh':
      return tf.tanh(x);
    case 'softplus':
      return tf.softplus(x);
    case 'softsign':
      return tf.div(x, tf.add(tf.abs(x), 1));
    case 'softmax':
      return tf.softmax(x);
    case 'swish':
    case 'silu':
      return tf.mul(x, tf.sigmoid(x));
    case 'mish':
      return tf.mul(x, tf.tanh(tf.softplus(x)));
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
    case 'logsoftmax':
      return tf.logSoftmax(x);
    default:
      throw new Error(`unsupported activation '${name}'`);
  }
}

function padding(cfg: Config): 'same' | 'valid' {
  return cfg.padding === 'same' ? 'same' : 'valid';
}

/** Conv/pool geometry for receptive fields; undefined for other layers. */
export function kernelInfo(className: string, cfg: Config): LayerInfo['kernel'] {
  if (['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D', 'Conv2DTranspose'].includes(className)) {
    return {
      size: pair(cfg.kernelSize),
      strides: pair(cfg.strides),
      padding: padding(cfg),
      dilation: pair(cfg.dilationRate),
    };
  }
  if (['MaxPooling2D', 'AveragePooling2D'].includes(className)) {
    const size = pair(cfg.poolSize, 2);
    return { size, strides: cfg.strides == null ? size : pair(cfg.strides), padding: padding(cfg) };
  }
  return undefined;
}

/** True for an Activation/Softmax layer that only applies softmax (stripped from a model's end). */
export function isSoftmaxLayer(layer: tfl.layers.Layer): boolean {
  const cls = layer.getClassName();
  if (cls === 'Softmax') return true;
  return cls === 'Activation' && activationName(layer.getConfig()).toLowerCase() === 'softmax';
}

/** True when the layer's own activation is softmax (Dense/Conv with activation: 'softmax'). */
export function hasSoftmaxActivation(layer: tfl.layers.Layer): boolean {
  return (
    HAS_ACTIVATION.has(layer.getClassName()) && activationName(layer.getConfig()).toLowerCase() === 'softmax'
  );
}

function convActivation(name: string): ConvActivation | undefined {
  const n = name.toLowerCase();
  return CONV_ACTIVATIONS.has(n) ? (n as ConvActivation) : undefined;
}

/**
 * Runs one layer on concrete tensors with plain differentiable ops: convolutions through core's
 * input-only path, BatchNorm with ones/zeros for a missing gamma/beta (tf.batchNorm's gradient throws
 * without them), activations as separate ops. Layers not handled here run through `layer.apply`.
 * `noActivation` drops the layer's own activation (used to strip a final softmax).
 */
export function runLayer(
  layer: tfl.layers.Layer,
  cls: string,
  cfg: Config,
  inputs: tf.Tensor[],
  noActivation = false,
): tf.Tensor {
  const x = inputs[0];
  if (IDENTITY.has(cls)) return x;
  const channelsLast = cfg.dataFormat === undefined || cfg.dataFormat === 'channelsLast';
  const act = noActivation ? 'linear' : activationName(cfg);
  const finish = (y: tf.Tensor, fusedAct: boolean) => (fusedAct ? y : applyActivation(y, act));

  switch (channelsLast ? cls : '') {
    case 'Conv2D': {
      if (x.rank !== 4) break;
      const w = weightsByName(layer);
      const fused = convActivation(act);
      const y = inputOnlyConv2d(x as tf.Tensor4D, w.kernel as tf.Tensor4D, {
        bias: w.bias as tf.Tensor1D | undefined,
        strides: pair(cfg.strides),
        pad: padding(cfg),
        dilations: pair(cfg.dilationRate),
        activation: fused ?? 'linear',
      });
      return finish(y, fused !== undefined);
    }
    case 'DepthwiseConv2D': {
      if (x.rank !== 4) break;
      const w = weightsByName(layer);
      const fused = convActivation(act);
      const y = inputOnlyDepthwiseConv2d(x as tf.Tensor4D, w.depthwise_kernel as tf.Tensor4D, {
        bias: w.bias as tf.Tensor1D | undefined,
        strides: pair(cfg.strides),
        pad: padding(cfg),
        dilations: pair(cfg.dilationRate),
        activation: fused ?? 'linear',
      });
      return finish(y, fused !== undefined);
    }
    case 'SeparableConv2D': {
      if (x.rank !== 4) break;
      const w = weightsByName(layer);
      const fused = convActivation(act);
      const d = inputOnlyDepthwiseConv2d(x as tf.Tensor4D, w.depthwise_kernel as tf.Tensor4D, {
        strides: pair(cfg.strides),
        pad: padding(cfg),
        dilations: pair(cfg.dilationRate),
      });
      const y = inputOnlyConv2d(d, w.pointwise_kernel as tf.Tensor4D, {
        bias: w.bias as tf.Tensor1D | undefined,
        strides: 1,
        pad: 'valid',
        activation: fused ?? 'linear',
      });
      return finish(y, fused !== undefined);
    }
    case 'Dense': {
      if (x.rank !== 2) break;
      const w = weightsByName(layer);
      let y = tf.matMul(x as tf.Tensor2D, w.kernel as tf.Tensor2D);
      if (w.bias) y = tf.add(y, w.bias);
      return finish(y, false);
    }
    case 'BatchNormalization': {
      const axis = Number(cfg.axis ?? -1);
      if (axis !== -1 && axis !== x.rank - 1) break;
      const w = weightsByName(layer);
      const c = x.shape[x.rank - 1];
      // Ones/zeros where scale/center is false: tf.batchNorm's gradient needs both.
      return tf.batchNorm(
        x,
        w.moving_mean as tf.Tensor1D,
        w.moving_variance as tf.Tensor1D,
        (w.beta as tf.Tensor1D | undefined) ?? tf.zeros([c]),
        (w.gamma as tf.Tensor1D | undefined) ?? tf.ones([c]),
        Number(cfg.epsilon ?? 1e-3),
      );
    }
    case 'LayerNormalization': {
      // Own implementation: tfjs-layers' apply fails without gamma/beta (center/scale false).
      const axes = ((Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1]) as number[]).map((a) =>
        a < 0 ? x.rank + a : a,
      );
      if (axes.length !== 1 || axes[0] !== x.rank - 1) break;
      const w = weightsByName(layer);
      const { mean, variance } = tf.moments(x, axes, true);
      let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, Number(cfg.epsilon ?? 1e-3))));
      if (w.gamma) y = tf.mul(y, w.gamma);
      if (w.beta) y = tf.add(y, w.beta);
      return y;
    }
    case 'Activation':
      return applyActivation(x, act);
    case 'ReLU': {
      const max = cfg.maxValue;
      if (max == null) return tf.relu(x);
      if (max === 6) return tf.relu6(x);
      return tf.clipByValue(tf.relu(x), 0, Number(max));
    }
    case 'LeakyReLU':
      return tf.leakyRelu(x, Number(cfg.alpha ?? 0.3));
    case 'ELU':
      if (Number(cfg.alpha ?? 1) !== 1) break;
      return tf.elu(x);
    case 'Softmax': {
      // tfjs-layers' Softmax defaults to axis 1 (Keras: -1); tf.softmax only does the last axis.
      const axis = Number(cfg.axis ?? 1);
      if (axis !== -1 && axis !== x.rank - 1) break;
      return noActivation ? x : tf.softmax(x);
    }
    case 'Add':
      return inputs.length === 1 ? x : tf.addN(inputs);
    case 'Subtract':
      return tf.sub(inputs[0], inputs[1]);
    case 'Multiply':
      return inputs.slice(1).reduce((a, b) => tf.mul(a, b), x);
    case 'Average':
      return tf.div(tf.addN(inputs), inputs.length);
    case 'Maximum':
      return inputs.slice(1).reduce((a, b) => tf.maximum(a, b), x);
    case 'Minimum':
      return inputs.slice(1).reduce((a, b) => tf.minimum(a, b), x);
    case 'Concatenate': {
      const axis = Number(cfg.axis ?? -1);
      return tf.concat(inputs, axis < 0 ? x.rank + axis : axis);
    }
    case 'ZeroPadding2D': {
      const [[t, b], [l, r]] = zeroPadding(cfg);
      return tf.pad(x, [
        [0, 0],
        [t, b],
        [l, r],
        [0, 0],
      ]);
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const k = kernelInfo(cls, cfg)!;
      const f = cls === 'MaxPooling2D' ? tf.maxPool : tf.avgPool;
      return f(x as tf.Tensor4D, k.size, k.strides, k.padding);
    }
    case 'GlobalAveragePooling2D':
      return tf.mean(x, [1, 2], cfg.keepDims === true);
    case 'GlobalMaxPooling2D':
      return tf.max(x, [1, 2], cfg.keepDims === true);
    case 'Flatten':
      return tf.reshape(x, [x.shape[0], -1]);
    case 'Reshape':
      return tf.reshape(x, [x.shape[0], ...(cfg.targetShape as number[])]);
    default:
      break;
  }
  // Anything else runs through tfjs-layers itself (eager call on concrete tensors, still differentiable).
  return layer.apply(inputs.length === 1 ? x : inputs, { training: false }) as tf.Tensor;
}
