import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from '../errors.js';
import { padOrCrop } from './conv-ops.js';

/** Activations tfjs fuses into conv layers; applied here as separate (overridable, differentiable) ops. */
export type ConvActivation = 'linear' | 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'tanh' | 'leakyrelu';

/** Options of `inputOnlyConv2d` / `inputOnlyDepthwiseConv2d` (NHWC). */
export interface InputOnlyConvOptions {
  /** Added per output channel after the convolution. */
  bias?: tf.Tensor1D;
  strides: number | [number, number];
  /** 'same' | 'valid' | a number (all sides) | explicit [[0,0],[top,bottom],[left,right],[0,0]]. */
  pad: 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
  /** Atrous rate; > 1 is routed through spaceToBatchND so that its input gradient exists (tfjs has none). */
  dilations?: number | [number, number];
  activation?: ConvActivation;
  /** Slope for 'leakyrelu' (default 0.2, as tfjs). */
  leakyreluAlpha?: number;
}

const ACTIVATIONS: readonly ConvActivation[] = [
  'linear',
  'relu',
  'relu6',
  'elu',
  'sigmoid',
  'tanh',
  'leakyrelu',
];

function pair(v: number | [number, number] | undefined, name: string): [number, number] {
  const p: [number, number] = v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new CnnvizError(
      'BAD_OPTION',
      `${name} must be a positive integer or a pair of them, got ${String(v)}`,
    );
  }
  return p;
}

function activate(y: tf.Tensor4D, activation: ConvActivation, alpha: number): tf.Tensor4D {
  switch (activation) {
    case 'linear':
      return y;
    case 'relu':
      return tf.relu(y);
    case 'relu6':
      return tf.relu6(y);
    case 'elu':
      return tf.elu(y);
    case 'sigmoid':
      return tf.sigmoid(y);
    case 'tanh':
      return tf.tanh(y);
    case 'leakyrelu':
      return tf.leakyRelu(y, alpha);
  }
}

/**
 * Runs `conv` on x, or for an atrous rate > 1 runs it undilated on spaceToBatchND(x) (TensorFlow's formulation of
 * atrous convolution) so that the gradient w.r.t. x exists: tfjs refuses gradients of dilated convolutions.
 */
function convMaybeAtrous(
  x: tf.Tensor4D,
  filterHW: [number, number],
  strides: [number, number],
  pad: InputOnlyConvOptions['pad'],
  dil: [number, number],
  conv: (x: tf.Tensor4D, pad: InputOnlyConvOptions['pad']) => tf.Tensor4D,
): tf.Tensor4D {
  if (dil[0] === 1 && dil[1] === 1) return conv(x, pad);
  if (strides[0] !== 1 || strides[1] !== 1) {
    throw new CnnvizError(
      'BAD_OPTION',
      `strides must be 1 when dilations > 1 (as in TensorFlow), got ${strides}`,
    );
  }
  const [, h, w] = x.shape;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape,
    [filterHW[0], filterHW[1], x.shape[3], 1],
    1,
    dil,
    pad,
    undefined,
    true,
  );
  const { top, bottom, left, right } = info.padInfo;
  const xp = padOrCrop(x, top, bottom, left, right);
  const hp = h + top + bottom;
  const wp = w + left + right;
  // spaceToBatchND needs sizes divisible by the rate: pad the end, and crop the same amount off the result.
  const eh = (dil[0] - (hp % dil[0])) % dil[0];
  const ew = (dil[1] - (wp % dil[1])) % dil[1];
  const sb = tf.spaceToBatchND(xp, dil, [
    [0, eh],
    [0, ew],
  ]) as tf.Tensor4D;
  const y = conv(sb, 'valid');
  return tf.batchToSpaceND(y, dil, [
    [0, eh],
    [0, ew],
  ]) as tf.Tensor4D;
}

function checkActivation(options: InputOnlyConvOptions): ConvActivation {
  const act = options.activation ?? 'linear';
  if (!ACTIVATIONS.includes(act)) {
    throw new CnnvizError(
      'BAD_OPTION',
      `activation must be one of ${ACTIVATIONS.join(', ')}, got '${String(act)}'`,
    );
  }
  return act;
}

/**
 * conv2d (+ bias + activation) built from unfused ops, so that `tf.grad` w.r.t. x computes only the input gradient.
 *
 * tfjs's `tf.fused.conv2d` (which tfjs-layers' Conv2D uses) has a custom gradient that always computes the filter
 * and bias gradients too — on MobileNetV2 that is 35 s instead of 3 s per input gradient on cpu, and on wasm it needs
 * the missing Conv2DBackpropFilter. With separate ops the engine only differentiates what lies between x and the
 * objective. The activation is a separate op too, so scoped gradient overrides (guided backprop) see it.
 * x: [N, H, W, inC], filter: [fH, fW, inC, outC].
 */
export function inputOnlyConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  options: InputOnlyConvOptions,
): tf.Tensor4D {
  const strides = pair(options.strides, 'strides');
  const dil = pair(options.dilations, 'dilations');
  const act = checkActivation(options);
  return tf.tidy(() => {
    let y = convMaybeAtrous(x, [filter.shape[0], filter.shape[1]], strides, options.pad, dil, (xx, pad) =>
      tf.conv2d(xx, filter, strides, pad as 'same'),
    );
    if (options.bias !== undefined) y = tf.add(y, options.bias);
    return activate(y, act, options.leakyreluAlpha ?? 0.2);
  });
}

/**
 * depthwiseConv2d (+ bias + activation) from unfused ops: `tf.fused.depthwiseConv2d` (GraphModels) eagerly computes
 * the filter gradient in its custom gradient, as fused conv2d does. filter: [fH, fW, inC, multiplier].
 */
export function inputOnlyDepthwiseConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  options: InputOnlyConvOptions,
): tf.Tensor4D {
  const strides = pair(options.strides, 'strides');
  const dil = pair(options.dilations, 'dilations');
  const act = checkActivation(options);
  return tf.tidy(() => {
    let y = convMaybeAtrous(x, [filter.shape[0], filter.shape[1]], strides, options.pad, dil, (xx, pad) =>
      tf.depthwiseConv2d(xx, filter, strides, pad as 'same'),
    );
    if (options.bias !== undefined) y = tf.add(y, options.bias);
    return activate(y, act, options.leakyreluAlpha ?? 0.2);
  });
}
