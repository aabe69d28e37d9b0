import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '@cnnviz/core';

export interface SelfTestResult {
  ok: boolean;
  /** What failed, or the largest error seen. */
  why: string;
  /** Largest absolute difference from the closed form (forward value and gradient). */
  maxError: number;
}

const H = 6;
const W = 6;
const CIN = 2;
const COUT = 3;
const K = 3;

/** Fixed input whose top half is strongly negative, so some pooling windows have a negative max. */
function fixture(): { x: Float32Array; w: Float32Array } {
  const rng = createRng(20240611);
  const x = new Float32Array(H * W * CIN);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      for (let c = 0; c < CIN; c++) x[(i * W + j) * CIN + c] = rng() * 2 - 1 + (i < 3 ? -4 : 0);
    }
  }
  const w = new Float32Array(K * K * CIN * COUT);
  for (let i = 0; i < w.length; i++) w[i] = rng() * 2 - 0.5; // mostly positive: negative inputs give negative outputs
  return { x, w };
}

/**
 * Closed form of f(x) = sum(maxPool2x2(conv2d(x, w, 'same'))) and df/dx: each pooling window
 * passes its gradient to its argmax, which spreads it back through the filter taps.
 */
function reference(x: Float32Array, w: Float32Array): { value: number; grad: Float32Array } {
  const p = Math.floor((K - 1) / 2); // tfjs 'same' puts the smaller half of the padding on top/left
  const at = (i: number, j: number, c: number) =>
    i < 0 || j < 0 || i >= H || j >= W ? 0 : x[(i * W + j) * CIN + c];
  const conv = new Float64Array(H * W * COUT);
  for (let i = 0; i < H; i++) {
    for (let j = 0; j < W; j++) {
      for (let o = 0; o < COUT; o++) {
        let s = 0;
        for (let a = 0; a < K; a++) {
          for (let b = 0; b < K; b++) {
            for (let c = 0; c < CIN; c++)
              s += at(i + a - p, j + b - p, c) * w[((a * K + b) * CIN + c) * COUT + o];
          }
        }
        conv[(i * W + j) * COUT + o] = s;
      }
    }
  }
  let value = 0;
  const grad = new Float32Array(H * W * CIN);
  for (let i = 0; i < H; i += 2) {
    for (let j = 0; j < W; j += 2) {
      for (let o = 0; o < COUT; o++) {
        let best = -Infinity;
        let bi = 0;
        let bj = 0;
        for (let di = 0; di < 2; di++) {
          for (let dj = 0; dj < 2; dj++) {
            const v = conv[((i + di) * W + j + dj) * COUT + o];
            if (v > best) [best, bi, bj] = [v, i + di, j + dj];
          }
        }
        value += best;
        for (let a = 0; a < K; a++) {
          for (let b = 0; b < K; b++) {
            const yi = bi + a - p;
            const xj = bj + b - p;
            if (yi < 0 || xj < 0 || yi >= H || xj >= W) continue;
            for (let c = 0; c < CIN; c++)
              grad[(yi * W + xj) * CIN + c] += w[((a * K + b) * CIN + c) * COUT + o];
          }
        }
      }
    }
  }
  return { value, grad };
}

/**
 * Checks the current backend on a convolution + max-pool input gradient against its closed
 * form: catches missing kernels, wrong gradients (WASM's MaxPoolGrad with negative maxima) and
 * broken drivers before any technique relies on them. Reads with `data()` (WebGPU in Node has
 * no synchronous read).
 */
export async function selfTest(tolerance = 1e-3): Promise<SelfTestResult> {
  const { x, w } = fixture();
  const ref = reference(x, w);
  let out: tf.Tensor[] = [];
  try {
    // tidy frees every intermediate, also when a kernel throws half-way.
    out = tf.tidy(() => {
      const xt = tf.tensor4d(x, [1, H, W, CIN]);
      const wt = tf.tensor4d(w, [K, K, CIN, COUT]);
      const f = (t: tf.Tensor) =>
        tf.sum(tf.maxPool(tf.conv2d(t as tf.Tensor4D, wt, 1, 'same'), 2, 2, 'valid'));
      const { value, grad } = tf.valueAndGrad(f)(xt);
      return [value, grad];
    });
    const [v, g] = await Promise.all(out.map((t) => t.data()));
    let maxError = Math.abs(v[0] - ref.value) / Math.max(1, Math.abs(ref.value));
    for (let i = 0; i < g.length; i++) maxError = Math.max(maxError, Math.abs(g[i] - ref.grad[i]));
    const ok = Number.isFinite(maxError) && maxError <= tolerance;
    return {
      ok,
      maxError,
      why: ok
        ? `conv2d+maxPool gradient matches closed form (max error ${maxError.toExponential(1)})`
        : `conv2d+maxPool gradient differs from closed form by ${maxError.toExponential(2)} (> ${tolerance})`,
    };
  } catch (e) {
    return { ok: false, maxError: Infinity, why: `self-test threw: ${(e as Error).message.split('\n')[0]}` };
  } finally {
    tf.dispose(out);
  }
}
