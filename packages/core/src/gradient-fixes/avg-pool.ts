import * as tf from '@tensorflow/tfjs-core';

// TF.js 4.22's AvgPool forward divides each window by the number of its cells inside the image
// ('same' or numeric padding), but its AvgPoolGrad kernel (cpu, wasm, webgl, webgpu alike)
// divides every window by its full size: at the borders the gradient is too small (a corner of
// a 3x3 'same' pool gets 4/9 instead of 1/4 + 2/6 + 1/9). InceptionV3 has such a pool in every
// mixed block. Scaling dy by full size / cells inside before the stock kernel gives the exact
// gradient of the forward pass, on every backend.

interface AvgPoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | unknown;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);

/** Cells of each window along one axis that lie inside the input, or undefined where every window is full. */
function cellsInside(
  size: number,
  out: number,
  k: number,
  s: number,
  before: number,
): Float32Array | undefined {
  const n = new Float32Array(out);
  let partial = false;
  for (let i = 0; i < out; i++) {
    const start = i * s - before;
    n[i] = Math.min(start + k, size) - Math.max(start, 0);
    partial ||= n[i] !== k;
  }
  return partial ? n : undefined;
}

/** The padding before the first row/column that tfjs-core uses for 'same' or a number. */
function padBefore(pad: AvgPoolAttrs['pad'], size: number, out: number, k: number, s: number): number {
  if (typeof pad === 'number') return pad;
  if (pad === 'same') return Math.floor(Math.max((out - 1) * s + k - size, 0) / 2);
  return 0;
}

/**
 * A stride-1 'same' pool with odd window sizes: the window of every cell is centred on it. The stock AvgPoolGrad
 * (a scalar loop on wasm: 16 ms a step of InceptionV3's feature visualisation) is then replaced by one forward
 * average pool (XNNPACK on wasm) between two multiplications. Backends whose AvgPool forward counts only the cells
 * inside the image (cpu and wasm, checked by the tests) only.
 */
function boxSymmetric(pad: AvgPoolAttrs['pad'], kh: number, kw: number, sh: number, sw: number): boolean {
  const backend = tf.getBackend();
  return (
    (backend === 'wasm' || backend === 'cpu') &&
    pad === 'same' &&
    sh === 1 &&
    sw === 1 &&
    kh % 2 === 1 &&
    kw % 2 === 1
  );
}

/** A corrected gradient for the `AvgPool` kernel (registered by `register-gradients.ts`). */
export const avgPoolGradient: tf.GradConfig = {
  kernelName: 'AvgPool',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor4D];
    const a = attrs as unknown as AvgPoolAttrs;
    const [kh, kw] = pair(a.filterSize);
    const [sh, sw] = pair(a.strides);
    const d = dy as tf.Tensor4D;
    const reshaped = x.rank === 3;
    const x4 = reshaped ? (tf.expandDims(x, 0) as tf.Tensor4D) : x;
    const d4 = reshaped ? (tf.expandDims(d, 0) as tf.Tensor4D) : d;
    const [, h, w] = x4.shape;
    const [, oh, ow] = d4.shape;
    const rows = cellsInside(h, oh, kh, sh, padBefore(a.pad, h, oh, kh, sh));
    const cols = cellsInside(w, ow, kw, sw, padBefore(a.pad, w, ow, kw, sw));
    return {
      x: () =>
        tf.tidy(() => {
          let scaled: tf.Tensor4D = d4;
          if (rows !== undefined && cols !== undefined && boxSymmetric(a.pad, kh, kw, sh, sw)) {
            // dx[p] = sum over the windows q that hold p of dy[q] / cells(q); with stride 1 and a centred odd
            // window, the windows holding p are the cells of p's own window, so dx = cells(p) * avgPool(dy / cells).
            const cells = tf.mul(tf.tensor4d(rows, [1, oh, 1, 1]), tf.tensor4d(cols, [1, 1, ow, 1]));
            const dx = tf.mul(
              tf.avgPool(tf.div(d4, cells) as tf.Tensor4D, [kh, kw], 1, 'same'),
              cells,
            ) as tf.Tensor4D;
            return reshaped ? tf.squeeze(dx, [0]) : dx;
          }
          if (rows !== undefined || cols !== undefined) {
            const r = tf.tensor4d(rows ?? new Float32Array(oh).fill(kh), [1, oh, 1, 1]);
            const c = tf.tensor4d(cols ?? new Float32Array(ow).fill(kw), [1, 1, ow, 1]);
            scaled = tf.div(tf.mul(d4, kh * kw), tf.mul(r, c));
          }
          const dx = tf.engine().runKernel('AvgPoolGrad', { dy: scaled, input: x4 }, {
            filterSize: [kh, kw],
            strides: [sh, sw],
            pad: a.pad,
          } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
          return reshaped ? tf.squeeze(dx, [0]) : dx;
        }),
    };
  },
};
