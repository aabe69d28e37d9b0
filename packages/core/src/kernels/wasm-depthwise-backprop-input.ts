import * as tf from '@tensorflow/tfjs-core';
import { transposedConvInput } from './conv-ops.js';
import { type KernelArgs, runOps, wrap } from './kernel-util.js';
import { type KernelFix } from './registry.js';

/**
 * Depthwise conv input gradient as a forward depthwise conv of the dilated, padded dy with the spatially flipped
 * filter. With a channel multiplier M > 1 each input channel feeds M outputs: run a multiplier-1 depthwise conv over
 * the inC·M channels of dy and sum each group of M.
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

/** wasm `DepthwiseConv2dNativeBackpropInput` (missing from tfjs-backend-wasm 4.22). */
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
      throw new Error('DepthwiseConv2dNativeBackpropInput: dilations > 1 are not supported (as in tfjs-core)');
    }
    return runOps(backend, () =>
      depthwiseBackpropInputOps(
        wrap<tf.Rank.R4>(backend, inputs.dy as tf.TensorInfo),
        wrap<tf.Rank.R4>(backend, filter),
        info,
      ),
    );
  },
};
