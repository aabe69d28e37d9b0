import * as tf from '@tensorflow/tfjs-core';

import { type PadSpec } from './conv-cases.test-data.js';

export type ReferenceActivation = 'linear' | 'relu' | 'relu6';

/**
 * Direct convolution (NHWC; an fs x fs filter, or [fh, fw]; stride and dilation 1 unless given) with bias and
 * activation in float64: the reference that the stock kernels, Winograd (wasm-winograd-conv2d.ts) and the matrix-product
 * convolution (wasm-gemm-conv2d.ts) are measured against, in their tests and in bench/src/winograd-bench.ts.
 */
export function directConv2dF64(
  x: Float32Array,
  [n, h, w, c]: number[],
  f: Float32Array,
  k: number,
  pad: PadSpec,
  bias: Float32Array | undefined,
  act: ReferenceActivation = 'linear',
  fs: number | [number, number] = 3,
  strides: number | [number, number] = 1,
  dilations: number | [number, number] = 1,
): { values: Float64Array; shape: number[] } {
  const [fh, fw] = typeof fs === 'number' ? [fs, fs] : fs;
  const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [fh, fw, c, k], strides, dilations, pad);
  const {
    outHeight: oh,
    outWidth: ow,
    strideHeight: sh,
    strideWidth: sw,
    dilationHeight: dh,
    dilationWidth: dw,
  } = info;
  const { top, left } = info.padInfo;
  const y = new Float64Array(n * oh * ow * k);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const o = ((b * oh + i) * ow + j) * k;
        for (let r = 0; r < fh; r++) {
          const xr = i * sh + r * dh - top;
          if (xr < 0 || xr >= h) continue;
          for (let s = 0; s < fw; s++) {
            const xc = j * sw + s * dw - left;
            if (xc < 0 || xc >= w) continue;
            for (let ci = 0; ci < c; ci++) {
              const v = x[((b * h + xr) * w + xc) * c + ci];
              const fo = ((r * fw + s) * c + ci) * k;
              for (let co = 0; co < k; co++) y[o + co] += v * f[fo + co];
            }
          }
        }
        for (let co = 0; co < k; co++) {
          let v = y[o + co] + (bias?.[co] ?? 0);
          if (act !== 'linear') v = Math.max(v, 0);
          if (act === 'relu6') v = Math.min(v, 6);
          y[o + co] = v;
        }
      }
    }
  }
  return { values: y, shape: [n, oh, ow, k] };
}
