import * as tf from '@tensorflow/tfjs-core';
import { transposedConvInput } from './conv-ops.js';
import { type KernelArgs, isNHWC, readValues, runOps, wrap } from './kernel-util.js';
import { type KernelFix } from './registry.js';

/**
 * conv2d input gradient as a forward convolution: dy (dilated by the stride, padded) correlated with the filter
 * flipped in space and with its in/out channels swapped. The forward conv runs on the backend's fast path
 * (XNNPACK on wasm) whereas the stock wasm Conv2DBackpropInput is a plain C loop: ~4x on VGG16.
 */
export function conv2dBackpropInputOps(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
  filterValues?: ArrayLike<number>,
): tf.Tensor4D {
  return tf.tidy(() => {
    const w =
      filterValues !== undefined
        ? flipTransposeFilter(filterValues, filter.shape)
        : tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    return tf.conv2d(transposedConvInput(dy, info), w, 1, 'valid');
  });
}

/**
 * The filter flipped in space with in/out channels swapped, computed in JS: wasm's Reverse kernel takes ~200 ms on a
 * 3x3x512x512 filter, a JS loop a few ms.
 */
export function flipTransposeFilter(w: ArrayLike<number>, shape: [number, number, number, number]): tf.Tensor4D {
  const [fH, fW, inC, outC] = shape;
  const out = new Float32Array(w.length);
  for (let r = 0; r < fH; r++) {
    for (let c = 0; c < fW; c++) {
      const src = (r * fW + c) * inC * outC;
      const dst = ((fH - 1 - r) * fW + (fW - 1 - c)) * outC * inC;
      for (let i = 0; i < inC; i++) {
        for (let o = 0; o < outC; o++) out[dst + o * inC + i] = w[src + i * outC + o];
      }
    }
  }
  return tf.tensor4d(out, [fH, fW, outC, inC]);
}

/** Fast `Conv2DBackpropInput` (NHWC; anything else goes to the stock kernel). */
export function fastConv2dBackpropInputFix(backendName: string): KernelFix {
  return {
    name: `${backendName}:Conv2DBackpropInput`,
    kernelName: tf.Conv2DBackpropInput,
    backendName,
    make: (stock) => (args) => {
      const { inputs, backend, attrs } = args as unknown as KernelArgs;
      const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
      if (!isNHWC(a.dataFormat) && stock !== undefined) return stock.kernelFunc(args);
      const filter = inputs.filter as tf.TensorInfo;
      const info = tf.backend_util.computeConv2DInfo(
        a.inputShape,
        filter.shape as [number, number, number, number],
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
      );
      return runOps(backend, () =>
        conv2dBackpropInputOps(
          wrap<tf.Rank.R4>(backend, inputs.dy as tf.TensorInfo),
          wrap<tf.Rank.R4>(backend, filter),
          info,
          readValues(backend, filter),
        ),
      );
    },
  };
}
