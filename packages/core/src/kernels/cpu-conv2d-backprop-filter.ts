import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs, isNHWC, readValues, writeOutput } from './kernel-util.js';
import { type KernelFix } from './registry.js';

/**
 * Filter gradient of conv2d written as strided outer products over contiguous channel rows.
 *
 * The stock cpu kernel walks the filter and calls TensorBuffer.get per multiply (~30x slower, which is what makes
 * training even a 5k-parameter CNN take minutes). Works on values read with readSync, so it serves any backend whose
 * readSync is cheap; accumulates in float64 so long sums stay as accurate as the stock kernel's JS doubles.
 */
export function conv2dBackpropFilterValues(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  info: tf.backend_util.Conv2DInfo,
): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  const { filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const acc = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  const tapSize = inChannels * outChannels;
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let wR = 0; wR < filterHeight; wR++) {
        const xR = yR * strideHeight + wR - top;
        if (xR < 0 || xR >= inHeight) continue;
        for (let yC = 0; yC < outWidth; yC++) {
          const dyOff = ((b * outHeight + yR) * outWidth + yC) * outChannels;
          for (let wC = 0; wC < filterWidth; wC++) {
            const xC = yC * strideWidth + wC - left;
            if (xC < 0 || xC >= inWidth) continue;
            const xOff = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            let o = (wR * filterWidth + wC) * tapSize;
            for (let d1 = 0; d1 < inChannels; d1++, o += outChannels) {
              const xv = x[xOff + d1];
              // Inputs after ReLU are mostly zero: skipping them is free and often halves the work.
              if (xv === 0) continue;
              for (let d2 = 0; d2 < outChannels; d2++) acc[o + d2] += xv * dy[dyOff + d2];
            }
          }
        }
      }
    }
  }
  return Float32Array.from(acc);
}

/** Fast cpu `Conv2DBackpropFilter` (NHWC; NCHW goes to the stock kernel). */
export const cpuConv2dBackpropFilterFix: KernelFix = {
  name: 'cpu:Conv2DBackpropFilter',
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'cpu',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    const dy = inputs.dy as tf.TensorInfo;
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (!isNHWC(a.dataFormat) && stock !== undefined) return stock.kernelFunc(args);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    const values = conv2dBackpropFilterValues(readValues(backend, x), readValues(backend, dy), info);
    return writeOutput(backend, info.filterShape.slice(), values);
  },
};
