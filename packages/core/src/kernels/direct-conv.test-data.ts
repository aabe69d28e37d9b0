import * as tf from '@tensorflow/tfjs-core';

import { type PadSpec } from './conv-cases.test-data.js';

export type ReferenceActivation = 'linear' | 'relu' | 'relu6';

/**
 * Direct stride-1 convolution (fs x fs filter, NHWC) with bias and activation in float64: the reference that both the
 * stock kernels and Winograd (wasm-winograd-conv2d.ts) are measured against, in its tests and in
 * bench/src/winograd-bench.ts.
 */
export function directConv2dF64(
  x: Float32Array,
  [n, h, w, c]: number[],
  f: Float32Array,
  k: number,
  pad: PadSpec,
  bias: Float32Array | undefined,
  act: ReferenceActivation = 'linear',
  fs = 3,
): { values: Float64Array; shape: number[] } {
  const info = tf.backend_util.computeConv2DInfo([n, h, w, c], [fs, fs, c, k], 1, 1, pad);
  const { outHeight: oh, outWidth: ow } = info;
  const { top, left } = info.padInfo;
  const y = new Float64Array(n * oh * ow * k);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const o = ((b * oh + i) * ow + j) * k;
        for (let r = 0; r < fs; r++) {
          const xr = i + r - top;
          if (xr < 0 || xr >= h) continue;
          for (let s = 0; s < fs; s++) {
            const xc = j + s - left;
            if (xc < 0 || xc >= w) continue;
            for (let ci = 0; ci < c; ci++) {
              const v = x[((b * h + xr) * w + xc) * c + ci];
              const fo = ((r * fs + s) * c + ci) * k;
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
