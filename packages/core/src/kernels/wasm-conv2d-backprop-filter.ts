import * as tf from '@tensorflow/tfjs-core';
import { forEachTap } from './conv-ops.js';
import { type KernelArgs, isNHWC, runOps, wrap } from './kernel-util.js';
import { type KernelFix } from './registry.js';

/**
 * conv2d filter gradient from ops the backend runs fast: for each filter tap, the strided view of x it saw
 * ([N, inC] with N = batch·outH·outW) times dy ([N, outC]) — one matMul per tap, dW[tap] = xsᵀ·dy.
 */
export function conv2dBackpropFilterOps(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  return tf.tidy(() => {
    const n = info.batchSize * info.outHeight * info.outWidth;
    const dy2 = tf.reshape(dy, [n, info.outChannels]);
    const taps = forEachTap(x, info, (xs) =>
      tf.matMul(tf.reshape(xs, [n, info.inChannels]), dy2, true, false),
    );
    return tf.reshape(tf.stack(taps), info.filterShape) as tf.Tensor4D;
  });
}

/** wasm `Conv2DBackpropFilter` (missing from tfjs-backend-wasm 4.22). */
export const wasmConv2dBackpropFilterFix: KernelFix = {
  name: 'wasm:Conv2DBackpropFilter',
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const nhwc = isNHWC(a.dataFormat);
    if (!nhwc && stock !== undefined) return stock.kernelFunc(args);
    return runOps(backend, () => {
      let x = wrap<tf.Rank.R4>(backend, inputs.x as tf.TensorInfo);
      let dy = wrap<tf.Rank.R4>(backend, inputs.dy as tf.TensorInfo);
      if (!nhwc) {
        x = tf.transpose(x, [0, 2, 3, 1]);
        dy = tf.transpose(dy, [0, 2, 3, 1]);
      }
      const info = tf.backend_util.computeConv2DInfo(
        x.shape,
        a.filterShape,
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
      );
      return conv2dBackpropFilterOps(x, dy, info);
    });
  },
};
