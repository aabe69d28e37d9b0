import * as tf from '@tensorflow/tfjs-core';
import { errorFirstLine } from './backend-select.js';
import { guidedOverrides } from './overrides/guided-relu.js';
import { withGradientOverrides } from './overrides.js';
import { createRng } from './random.js';

export interface SelfTestResult {
  ok: boolean;
  /** What failed, or the largest error seen. */
  why: string;
  /** Largest difference from the closed form, relative to the largest magnitude of each output. */
  maxError: number;
}

const H = 6;
const W = 6;
const CIN = 2;
const COUT = 3;
const K = 3;
/** 'same' padding of a 3x3 window: tfjs puts the smaller half on top/left, here 1 on every side. */
const P = Math.floor((K - 1) / 2);

interface Fixture {
  x: Float32Array;
  w: Float32Array;
  dw: Float32Array;
  cPool: Float32Array;
  cRelu: Float32Array;
}

/**
 * Fixed inputs whose top half is strongly negative (so some pooling windows have a negative max:
 * WASM's stock MaxPoolGrad gets those wrong) and signed output weights (so guided backprop, which
 * drops negative gradients at each ReLU, differs from the plain gradient).
 */
function fixture(): Fixture {
  const rng = createRng(20240611);
  const fill = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  const x = fill(H * W * CIN, (i) => rng() * 2 - 1 + (Math.floor(i / (W * CIN)) < H / 2 ? -4 : 0));
  return {
    x,
    w: fill(K * K * CIN * COUT, () => rng() * 2 - 0.5),
    dw: fill(K * K * COUT, () => rng() * 2 - 1),
    cPool: fill((H / 2) * (W / 2) * COUT, () => rng() * 2 - 1),
    cRelu: fill(H * W * COUT, () => rng() * 2 - 1),
  };
}

/** Calls `f(out, in, tap)` for every 'same'-padded 3x3 tap that lands inside the H x W map. */
function eachTap(f: (o: number, i: number, tap: number) => void): void {
  for (let oi = 0; oi < H; oi++) {
    for (let oj = 0; oj < W; oj++) {
      for (let a = 0; a < K; a++) {
        for (let b = 0; b < K; b++) {
          const i = oi + a - P;
          const j = oj + b - P;
          if (i >= 0 && j >= 0 && i < H && j < W) f(oi * W + oj, i * W + j, a * K + b);
        }
      }
    }
  }
}

/**
 * The probe's value, input gradient and guided input gradient in plain float64 arithmetic:
 * f(x) = sum(maxPool2x2(a) * cPool) + sum(relu(depthwise(a)) * cRelu), a = conv2d(x, w).
 * Each pooling window passes its weight to its argmax; the ReLU passes cRelu where its input is
 * positive, and guided backprop only the positive part of that.
 */
function closedForm(f: Fixture): Float64Array[] {
  const a = new Float64Array(H * W * COUT);
  eachTap((o, i, t) => {
    for (let co = 0; co < COUT; co++)
      for (let ci = 0; ci < CIN; ci++)
        a[o * COUT + co] += f.x[i * CIN + ci] * f.w[(t * CIN + ci) * COUT + co];
  });
  const z = new Float64Array(H * W * COUT);
  eachTap((o, i, t) => {
    for (let c = 0; c < COUT; c++) z[o * COUT + c] += a[i * COUT + c] * f.dw[t * COUT + c];
  });
  let value = 0;
  const daPool = new Float64Array(H * W * COUT);
  for (let pi = 0; pi < H / 2; pi++) {
    for (let pj = 0; pj < W / 2; pj++) {
      for (let c = 0; c < COUT; c++) {
        let best = -Infinity;
        let at = 0;
        for (let di = 0; di < 2; di++) {
          for (let dj = 0; dj < 2; dj++) {
            const p = ((2 * pi + di) * W + 2 * pj + dj) * COUT + c;
            if (a[p] > best) [best, at] = [a[p], p];
          }
        }
        const weight = f.cPool[(pi * (W / 2) + pj) * COUT + c];
        value += best * weight;
        daPool[at] += weight;
      }
    }
  }
  for (let p = 0; p < z.length; p++) value += Math.max(0, z[p]) * f.cRelu[p];
  const inputGradient = (guided: boolean): Float64Array => {
    const dz = z.map((v, p) => (v > 0 && (!guided || f.cRelu[p] > 0) ? f.cRelu[p] : 0));
    const da = Float64Array.from(daPool);
    eachTap((o, i, t) => {
      for (let c = 0; c < COUT; c++) da[i * COUT + c] += dz[o * COUT + c] * f.dw[t * COUT + c];
    });
    const dx = new Float64Array(H * W * CIN);
    eachTap((o, i, t) => {
      for (let ci = 0; ci < CIN; ci++)
        for (let co = 0; co < COUT; co++)
          dx[i * CIN + ci] += da[o * COUT + co] * f.w[(t * CIN + ci) * COUT + co];
    });
    return dx;
  };
  return [Float64Array.of(value), inputGradient(false), inputGradient(true)];
}

/** The same network on the active backend, read back with `data()` (WebGPU has no synchronous read). */
async function probe(f: Fixture): Promise<Float32Array[]> {
  let out: tf.Tensor[] = [];
  try {
    // tidy frees every intermediate, also when a kernel throws half-way.
    out = tf.tidy(() => {
      const x = tf.tensor4d(f.x, [1, H, W, CIN]);
      const w = tf.tensor4d(f.w, [K, K, CIN, COUT]);
      const dw = tf.tensor4d(f.dw, [K, K, COUT, 1]);
      const cPool = tf.tensor4d(f.cPool, [1, H / 2, W / 2, COUT]);
      const cRelu = tf.tensor4d(f.cRelu, [1, H, W, COUT]);
      const fn = (t: tf.Tensor) => {
        const a = tf.conv2d(t as tf.Tensor4D, w, 1, 'same');
        const pooled = tf.maxPool(a, 2, 2, 'valid');
        const r = tf.relu(tf.depthwiseConv2d(a, dw, 1, 'same'));
        return tf.add(tf.sum(tf.mul(pooled, cPool)), tf.sum(tf.mul(r, cRelu))) as tf.Scalar;
      };
      const { value, grad } = tf.valueAndGrad(fn)(x);
      const guided = withGradientOverrides(guidedOverrides, () => tf.grad(fn)(x));
      return [value, grad, guided];
    });
    return (await Promise.all(out.map((t) => t.data()))) as Float32Array[];
  } finally {
    tf.dispose(out);
  }
}

/**
 * Checks the active backend on a small convolution / max-pool / depthwise / ReLU network against
 * its closed form: the value, the input gradient and the guided-backprop gradient (the scoped ReLU
 * override). Catches missing kernels, wrong gradients (WASM's MaxPoolGrad with negative maxima),
 * gradient overrides that a backend's fused kernels bypass, and GPUs that compute in half
 * precision, before any technique relies on them. Used by `@cnnviz/node` and `@cnnviz/web`.
 */
export async function selfTest(tolerance = 1e-3): Promise<SelfTestResult> {
  const backend = tf.getBackend();
  const f = fixture();
  let got: Float32Array[];
  try {
    got = await probe(f);
  } catch (e) {
    return {
      ok: false,
      maxError: Infinity,
      why: `self-test threw on ${backend}: ${errorFirstLine(e)}`,
    };
  }
  const names = ['value', 'gradient', 'guided gradient'];
  let maxError = 0;
  let worst = names[0];
  closedForm(f).forEach((r, k) => {
    const scale = Math.max(1e-6, ...Array.from(r, Math.abs));
    for (let i = 0; i < r.length; i++) {
      const e = Math.abs(got[k][i] - r[i]) / scale;
      if (!(e <= maxError)) {
        maxError = Number.isNaN(e) ? Infinity : e;
        worst = names[k];
      }
    }
  });
  const ok = maxError <= tolerance;
  return {
    ok,
    maxError,
    why: ok
      ? `conv/maxPool/depthwise/ReLU value, gradient and guided gradient match the closed form (max rel. error ${maxError.toExponential(1)})`
      : `${worst} differs from the closed form by ${maxError.toExponential(2)} (relative; > ${tolerance})`,
  };
}
