import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs, readValues, writeOutput } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { heapViews, isWasmBackend, wasmMemoryOf } from './wasm-heap.js';
import { type SimdMaxPoolGrad, simdMaxPoolGrad } from './wasm-simd-maxpool-grad.js';

/**
 * Max-pool gradient: each output's gradient goes to the first (row-major) maximum of its window, padding excluded
 * — the cpu backend's rule, so results match it exactly, ties included.
 *
 * The stock wasm kernel starts its running maximum at 0, so a window whose values are all negative sends its
 * gradient nowhere; any net with a max-pool after a linear layer (or a negative-input probe) gets wrong saliency.
 */
export function maxPoolGradValues(
  x: ArrayLike<number>,
  dy: ArrayLike<number>,
  info: tf.backend_util.Conv2DInfo,
  out?: Float32Array,
): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels: C, outHeight, outWidth } = info;
  const {
    strideHeight,
    strideWidth,
    dilationHeight,
    dilationWidth,
    effectiveFilterHeight,
    effectiveFilterWidth,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dx = out ?? new Float32Array(batchSize * inHeight * inWidth * C);
  // `out` may be a reused heap buffer.
  if (out !== undefined) dx.fill(0);
  // float32 like the values: the comparisons are the same, at half the memory traffic.
  const best = new Float32Array(C);
  const pos = new Int32Array(C);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const r0 = yR * strideHeight - top;
      for (let yC = 0; yC < outWidth; yC++) {
        const c0 = yC * strideWidth - left;
        best.fill(-Infinity);
        pos.fill(-1);
        for (let wR = 0; wR < effectiveFilterHeight; wR += dilationHeight) {
          const xR = r0 + wR;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < effectiveFilterWidth; wC += dilationWidth) {
            const xC = c0 + wC;
            if (xC < 0 || xC >= inWidth) continue;
            const off = ((b * inHeight + xR) * inWidth + xC) * C;
            for (let d = 0; d < C; d++) {
              const v = x[off + d];
              if (v > best[d]) {
                best[d] = v;
                pos[d] = off + d;
              }
            }
          }
        }
        const dyOff = ((b * outHeight + yR) * outWidth + yC) * C;
        for (let d = 0; d < C; d++) if (pos[d] >= 0) dx[pos[d]] += dy[dyOff + d];
      }
    }
  }
  return dx;
}

/** The SIMD kernel for this pool where it applies (channels a multiple of 4, no dilation, SIMD available). */
function simdFor(backend: object, info: tf.backend_util.Conv2DInfo): SimdMaxPoolGrad | undefined {
  if (info.inChannels % 4 !== 0 || info.dilationHeight !== 1 || info.dilationWidth !== 1) return undefined;
  const memory = wasmMemoryOf(backend);
  return memory !== undefined ? simdMaxPoolGrad(memory) : undefined;
}

/** Correct wasm `MaxPoolGrad`. */
export const wasmMaxPoolGradFix: KernelFix = {
  name: 'wasm:MaxPoolGrad',
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  make: () => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.input as tf.TensorInfo;
    const dy = inputs.dy as tf.TensorInfo;
    const a = attrs as unknown as tf.MaxPoolGradAttrs;
    const info = tf.backend_util.computePool2DInfo(
      x.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    if (isWasmBackend(backend) && x.dtype === 'float32' && dy.dtype === 'float32') {
      // Straight on the heap: the stock readSync copies of x and dy and the write of dx took most of the time.
      const { out, outView, inViews } = heapViews(backend, [x, dy], x.shape.slice(), 'float32');
      const simd = simdFor(backend, info);
      if (simd !== undefined) {
        outView.fill(0);
        const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
        for (let b = 0; b < n; b++) {
          simd(
            inViews[0].byteOffset + b * h * w * c * 4,
            inViews[1].byteOffset + b * oh * ow * c * 4,
            outView.byteOffset + b * h * w * c * 4,
            h,
            w,
            c * 4,
            oh,
            ow,
            info.strideHeight,
            info.strideWidth,
            info.filterHeight,
            info.filterWidth,
            info.padInfo.top,
            info.padInfo.left,
          );
        }
        return out;
      }
      maxPoolGradValues(inViews[0], inViews[1], info, outView as Float32Array);
      return out;
    }
    return writeOutput(
      backend,
      x.shape.slice(),
      maxPoolGradValues(readValues(backend, x), readValues(backend, dy), info),
    );
  },
};
