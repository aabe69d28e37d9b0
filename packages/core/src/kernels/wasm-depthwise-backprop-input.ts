import * as tf from '@tensorflow/tfjs-core';
import { transposedConvInput, transposedConvParts } from './conv-ops.js';
import { callKernel, withDerivedWeights } from './derived-weights.js';
import { freeInfo, type KernelArgs, readValues, runOps, wrap } from './kernel-util.js';
import { type KernelFix } from './registry.js';

/** The depthwise filter flipped in space, as a multiplier-1 filter over inC·M channels: [fH, fW, inC·M, 1]. */
export function flipDepthwiseValues(w: ArrayLike<number>, shape: number[]): Float32Array {
  const [fH, fW, inC, m] = shape;
  const tap = inC * m;
  const out = new Float32Array(fH * fW * tap);
  for (let r = 0; r < fH; r++) {
    for (let c = 0; c < fW; c++) {
      const src = (r * fW + c) * tap;
      const dst = ((fH - 1 - r) * fW + (fW - 1 - c)) * tap;
      for (let i = 0; i < tap; i++) out[dst + i] = w[src + i];
    }
  }
  return out;
}

/**
 * Depthwise conv input gradient (op-level version, any backend): a forward depthwise conv of the dilated, padded dy
 * with the spatially flipped filter. With a channel multiplier M > 1 each input channel feeds M outputs: run a
 * multiplier-1 depthwise conv over the inC·M channels of dy and sum each group of M.
 */
export function depthwiseBackpropInputOps(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [fH, fW, inC, m] = filter.shape;
    const flipped = tf.reverse(filter, [0, 1]);
    const w = m === 1 ? flipped : tf.reshape(flipped, [fH, fW, inC * m, 1]);
    const y = tf.depthwiseConv2d(transposedConvInput(dy, info), w as tf.Tensor4D, 1, 'valid');
    if (m === 1) return y;
    const [b, h, wd] = y.shape;
    return tf.sum(tf.reshape(y, [b, h, wd, inC, m]), 4) as tf.Tensor4D;
  });
}

/**
 * wasm `DepthwiseConv2dNativeBackpropInput` (missing from tfjs-backend-wasm 4.22): the backend's forward depthwise
 * kernel on the prepared dy, with the flipped filter cached per source filter (see derived-weights.ts).
 * Strided layers convolve the zero-dilated dy: a sub-pixel split (as for conv2d) needs a channel multiplier of s²,
 * which XNNPACK runs ~2x slower than this.
 */
export const wasmDepthwiseBackpropInputFix: KernelFix = {
  name: 'wasm:DepthwiseConv2dNativeBackpropInput',
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  make: () => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
    const filter = inputs.filter as tf.TensorInfo;
    const info = tf.backend_util.computeConv2DInfo(
      a.inputShape,
      filter.shape as [number, number, number, number],
      a.strides,
      a.dilations,
      a.pad,
      a.dimRoundingMode,
      true,
    );
    if (info.dilationHeight !== 1 || info.dilationWidth !== 1) {
      throw new Error(
        'DepthwiseConv2dNativeBackpropInput: dilations > 1 are not supported (as in tfjs-core)',
      );
    }
    const [fH, fW, inC, m] = filter.shape;
    const { x: prepared, pad } = tf.tidy(() =>
      transposedConvParts(wrap<tf.Rank.R4>(backend, inputs.dy as tf.TensorInfo), info),
    );
    let y: tf.TensorInfo;
    try {
      y = withDerivedWeights(
        backend,
        filter,
        'depthwise-flip',
        () => ({
          values: flipDepthwiseValues(readValues(backend, filter), filter.shape),
          shape: [fH, fW, inC * m, 1],
        }),
        (w) =>
          callKernel(
            backend,
            tf.DepthwiseConv2dNative,
            { x: prepared, filter: w },
            { strides: [1, 1], pad, dilations: [1, 1] },
          ),
      );
    } finally {
      prepared.dispose();
    }
    if (m === 1) return y;
    const [b, h, wd] = y.shape;
    try {
      return runOps(backend, () => tf.sum(tf.reshape(wrap(backend, y), [b, h, wd, inC, m]), 4));
    } finally {
      freeInfo(backend, y);
    }
  },
};
