import * as tf from '@tensorflow/tfjs-core';
import { valueAndGradient } from '@cnnviz/core';

export interface LbfgsOptions {
  /** Curvature pairs kept. Default 10. */
  history?: number;
  /** Trial step along the quasi-Newton direction. Default 1 (the first step is scaled by 1/|g|₁). */
  lr?: number;
  /** Halvings of the step before giving up on an iteration. Default 6. */
  maxBacktracks?: number;
}

/**
 * A compact L-BFGS minimiser on a tensor `x` (Nocedal & Wright, Algorithm 7.4: two-loop
 * recursion, backtracking line search with the Armijo condition). One `step()` is one iteration
 * (one or more function evaluations); it returns the accepted loss as a scalar the caller frees.
 *
 * The line search reads a few scalars synchronously (`dataSync`), which every backend supports
 * except WebGPU in Node; use Adam there.
 */
export interface Lbfgs {
  /** The current point (owned by the minimiser; read, don't dispose). */
  readonly x: tf.Tensor;
  step(): tf.Scalar;
  /**
   * Tells the minimiser that `f` changed (e.g. a new random shift): the next step re-evaluates
   * the value and gradient at the current point instead of trusting the cached ones.
   */
  invalidate(): void;
  dispose(): void;
}

const dot = (a: tf.Tensor, b: tf.Tensor): tf.Scalar => tf.sum(tf.mul(a, b));
/** Reads a scalar and frees it. */
const read = (t: tf.Tensor): number => {
  const v = (t.dataSync() as Float32Array)[0];
  t.dispose();
  return v;
};

/** Creates an L-BFGS minimiser of `f` starting from a copy of `x0`. */
export function lbfgs(f: (x: tf.Tensor) => tf.Scalar, x0: tf.Tensor, opts: LbfgsOptions = {}): Lbfgs {
  const m = opts.history ?? 10;
  const lr = opts.lr ?? 1;
  const maxBacktracks = opts.maxBacktracks ?? 6;
  const c1 = 1e-4;
  let x = tf.keep(x0.clone());
  let g: tf.Tensor | undefined;
  let fx = NaN;
  let hist: { s: tf.Tensor; y: tf.Tensor; rho: number }[] = [];

  const clearHistory = () => {
    for (const h of hist) {
      h.s.dispose();
      h.y.dispose();
    }
    hist = [];
  };

  const evaluate = (at: tf.Tensor) => {
    const { value, grad } = valueAndGradient(f, at);
    return { v: read(value), grad };
  };

  const direction = (grad: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      let q: tf.Tensor = grad;
      const alphas: tf.Scalar[] = [];
      for (let i = hist.length - 1; i >= 0; i--) {
        const a = tf.mul(dot(hist[i].s, q), hist[i].rho) as tf.Scalar;
        alphas[i] = a;
        q = tf.sub(q, tf.mul(hist[i].y, a));
      }
      if (hist.length > 0) {
        const last = hist[hist.length - 1];
        q = tf.mul(q, tf.div(dot(last.s, last.y), dot(last.y, last.y)));
      }
      for (let i = 0; i < hist.length; i++) {
        const b = tf.mul(dot(hist[i].y, q), hist[i].rho);
        q = tf.add(q, tf.mul(hist[i].s, tf.sub(alphas[i], b)));
      }
      return tf.neg(q);
    });

  return {
    get x() {
      return x;
    },
    step() {
      if (g === undefined) {
        const e = evaluate(x);
        fx = e.v;
        g = tf.keep(e.grad);
      }
      const grad = g;
      let d = direction(grad);
      let gd = read(tf.tidy(() => dot(grad, d)));
      if (!(gd < 0)) {
        // Not a descent direction (bad curvature pairs): restart from steepest descent.
        clearHistory();
        d.dispose();
        d = tf.neg(grad);
        gd = read(tf.tidy(() => dot(grad, d)));
      }
      let t = hist.length === 0 ? lr * Math.min(1, 1 / read(tf.tidy(() => tf.sum(tf.abs(grad))))) : lr;
      let accepted: { x: tf.Tensor; v: number; grad: tf.Tensor } | undefined;
      for (let k = 0; k <= maxBacktracks; k++) {
        const xt = tf.tidy(() => tf.add(x, tf.mul(d, t)));
        const e = evaluate(xt);
        if (Number.isFinite(e.v) && e.v <= fx + c1 * t * gd) {
          accepted = { x: xt, v: e.v, grad: e.grad };
          break;
        }
        xt.dispose();
        e.grad.dispose();
        t *= 0.5;
      }
      d.dispose();
      if (accepted === undefined) {
        // No sufficient decrease along this direction: forget the curvature and stay put.
        clearHistory();
        return tf.scalar(fx);
      }
      const s = tf.keep(tf.sub(accepted.x, x));
      const y = tf.keep(tf.sub(accepted.grad, grad));
      const ys = read(tf.tidy(() => dot(y, s)));
      if (ys > 1e-10) {
        hist.push({ s, y, rho: 1 / ys });
        if (hist.length > m) {
          const old = hist.shift();
          old?.s.dispose();
          old?.y.dispose();
        }
      } else {
        s.dispose();
        y.dispose();
      }
      x.dispose();
      grad.dispose();
      x = tf.keep(accepted.x);
      g = tf.keep(accepted.grad);
      fx = accepted.v;
      return tf.scalar(fx);
    },
    invalidate() {
      g?.dispose();
      g = undefined;
    },
    dispose() {
      clearHistory();
      x.dispose();
      g?.dispose();
      g = undefined;
    },
  };
}
