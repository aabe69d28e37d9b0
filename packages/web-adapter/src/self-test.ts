import * as tf from '@tensorflow/tfjs-core';
import { createRng, guidedOverrides, withGradientOverrides } from '@cnnviz/core';

export interface SelfTestResult {
  ok: boolean;
  /** What failed, or the largest error seen. */
  why: string;
  /** Largest difference from the CPU backend, relative to the largest reference magnitude of each output. */
  maxError: number;
}

const H = 6;
const W = 6;
const CIN = 2;
const COUT = 3;
const K = 3;

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

/**
 * conv2d -> maxPool and conv2d -> depthwise conv -> ReLU, weighted sums of both: the kernels
 * every technique's gradient runs through. Returns the value, the input gradient and the guided
 * (ReLU-overridden) input gradient, read back with `data()` (WebGPU has no synchronous read).
 */
async function probe(f: Fixture): Promise<Float32Array[]> {
  let out: tf.Tensor[] = [];
  try {
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

let reference: Promise<Float32Array[]> | undefined;

/** The probe on TF.js's CPU backend (plain JS kernels, the reference), computed once. */
export function cpuReference(): Promise<Float32Array[]> {
  reference ??= (async () => {
    const previous = tf.getBackend();
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    try {
      return await probe(fixture());
    } finally {
      if (previous && previous !== 'cpu') await tf.setBackend(previous);
    }
  })();
  reference.catch(() => (reference = undefined));
  return reference;
}

/**
 * Checks the active backend on a small convolution / max-pool / depthwise / ReLU network: its
 * value, input gradient and guided-backprop gradient (core's scoped ReLU override) must match the
 * CPU backend's. Catches missing kernels, wrong gradients, gradient overrides that a backend's
 * fused kernels bypass, and GPUs that compute in half precision.
 */
export async function selfTest(tolerance = 1e-3): Promise<SelfTestResult> {
  const backend = tf.getBackend();
  let ref: Float32Array[];
  try {
    ref = await cpuReference();
  } catch (e) {
    return { ok: false, maxError: Infinity, why: `CPU reference failed: ${(e as Error).message}` };
  }
  let got: Float32Array[];
  try {
    got = await probe(fixture());
  } catch (e) {
    return {
      ok: false,
      maxError: Infinity,
      why: `self-test threw on ${backend}: ${(e as Error).message.split('\n')[0]}`,
    };
  }
  const names = ['value', 'gradient', 'guided gradient'];
  let maxError = 0;
  let worst = names[0];
  ref.forEach((r, k) => {
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
      ? `conv/maxPool/depthwise/ReLU value, gradient and guided gradient match the CPU backend (max rel. error ${maxError.toExponential(1)})`
      : `${worst} differs from the CPU backend by ${maxError.toExponential(2)} (relative; > ${tolerance})`,
  };
}
