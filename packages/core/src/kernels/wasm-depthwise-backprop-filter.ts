import * as tf from '@tensorflow/tfjs-core';
import { forEachTap } from './conv-ops.js';
import { type KernelArgs, runOps, wrap } from './kernel-util.js';
import { type KernelFix } from './registry.js';

/**
 * Depthwise conv filter gradient, per channel: for each tap, Σ over batch and positions of the tap's view of x times
 * dy — dW[tap, c, q] = Σ xs[.., c]·dy[.., c·M + q].
 */
export function depthwiseBackpropFilterOps(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  return tf.tidy(() => {
    const [fH, fW, inC, m] = info.filterShape;
    const { batchSize: b, outHeight: h, outWidth: w } = info;
    const dy5 = m === 1 ? dy : tf.reshape(dy, [b, h, w, inC, m]);
    const taps = forEachTap(x, info, (xs) =>
      m === 1
        ? tf.sum(tf.mul(xs, dy5), [0, 1, 2])
        : tf.sum(tf.mul(tf.reshape(xs, [b, h, w, inC, 1]), dy5), [0, 1, 2]),
    );
    return tf.reshape(tf.stack(taps), [fH, fW, inC, m]) as tf.Tensor4D;
  });
}

/** wasm `DepthwiseConv2dNativeBackpropFilter` (missing from tfjs-backend-wasm 4.22). */
export const wasmDepthwiseBackpropFilterFix: KernelFix = {
  name: 'wasm:DepthwiseConv2dNativeBackpropFilter',
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  make: () => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const x = inputs.x as tf.TensorInfo;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      a.dilations,
      a.pad,
      a.dimRoundingMode,
      true,
    );
    return runOps(backend, () =>
      depthwiseBackpropFilterOps(
        wrap<tf.Rank.R4>(backend, x),
        wrap<tf.Rank.R4>(backend, inputs.dy as tf.TensorInfo),
        info,
      ),
    );
  },
};
