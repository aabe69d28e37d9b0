import * as tf from '@tensorflow/tfjs-core';

/** Colour statistics of RGB images: per item the mean `[N,3]` and covariance `[N,3,3]` of the pixels. */
// A type alias, not an interface, so that `tf.tidy` can return it (a TensorContainer).
export type ColorStats = {
  mean: tf.Tensor2D;
  cov: tf.Tensor3D;
};

/** Mean and covariance of the pixels of each item of `img` `[N,H,W,3]`. */
export function colorStats(img: tf.Tensor4D): ColorStats {
  return tf.tidy(() => {
    const [n, h, w, c] = img.shape;
    const flat = tf.reshape(img, [n, h * w, c]);
    const mean = tf.mean(flat, 1, true);
    const centred = tf.sub(flat, mean);
    const cov = tf.div(tf.matMul(centred, centred, true, false), h * w) as tf.Tensor3D;
    return { mean: tf.reshape(mean, [n, c]) as tf.Tensor2D, cov };
  });
}

/**
 * The colour statistics of a mixture: the pixels of image i drawn with probability `weights[i]`
 * (normalised). Each `stats[i]` holds one item. Used to blend several styles' palettes.
 */
export function mixColorStats(stats: ColorStats[], weights: number[]): ColorStats {
  return tf.tidy(() => {
    const total = weights.reduce((a, b) => a + b, 0);
    const outer = (m: tf.Tensor2D) => tf.matMul(m, m, true, false); // [3,3] from [1,3]
    const mean = tf.addN(stats.map((s, i) => tf.mul(s.mean, weights[i] / total))) as tf.Tensor2D;
    // E[x x^T] of the mixture minus the outer product of its mean.
    const second = tf.addN(
      stats.map((s, i) => tf.mul(tf.add(tf.squeeze(s.cov, [0]), outer(s.mean)), weights[i] / total)),
    );
    const cov = tf.expandDims(tf.sub(second, outer(mean)), 0) as tf.Tensor3D;
    return { mean, cov };
  });
}

/**
 * Square root and inverse square root of symmetric positive semi-definite matrices `[N,K,K]`
 * by the coupled Newton–Schulz iteration, regularised by `eps` times the mean eigenvalue on the
 * diagonal. Only matrix products: differentiable and the same on every backend (TF.js has no
 * eigendecomposition), and no value is read back to the CPU.
 */
export function sqrtmNewtonSchulz(
  a: tf.Tensor3D,
  opts: { iterations?: number; eps?: number } = {},
): { sqrt: tf.Tensor3D; invSqrt: tf.Tensor3D } {
  const iterations = opts.iterations ?? 24;
  const eps = opts.eps ?? 1e-3;
  return tf.tidy(() => {
    const [n, k] = a.shape;
    const eye = tf.tile(tf.expandDims(tf.eye(k), 0), [n, 1, 1]) as tf.Tensor3D;
    const trace = tf.reshape(tf.sum(tf.mul(a, eye), [1, 2]), [n, 1, 1]);
    const reg = tf.add(a, tf.mul(eye, tf.add(tf.mul(trace, eps / k), 1e-12)));
    // Scaled so every eigenvalue lies in (0, 1], where the iteration converges.
    const s = tf.reshape(tf.sum(tf.mul(reg, eye), [1, 2]), [n, 1, 1]);
    let y = tf.div(reg, s) as tf.Tensor3D;
    let z = eye;
    for (let i = 0; i < iterations; i++) {
      const t = tf.mul(tf.sub(tf.mul(eye, 3), tf.matMul(z, y)), 0.5) as tf.Tensor3D;
      y = tf.matMul(y, t);
      z = tf.matMul(t, z);
    }
    const root = tf.sqrt(s);
    return { sqrt: tf.mul(y, root) as tf.Tensor3D, invSqrt: tf.div(z, root) as tf.Tensor3D };
  });
}

/**
 * Linear colour transfer (the "colour histogram matching" of Gatys et al. 2017, to second order):
 * maps the pixels of each item of `img` `[N,H,W,3]` by `x -> mean_t + S_t^½ S^-½ (x - mean)` so
 * that their mean and covariance become `target`'s (one item, applied to all). Differentiable.
 * Not clipped: callers clip to 0..1.
 */
export function matchColors(img: tf.Tensor4D, target: ColorStats): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = img.shape;
    const own = colorStats(img);
    const { invSqrt } = sqrtmNewtonSchulz(own.cov);
    const { sqrt } = sqrtmNewtonSchulz(target.cov);
    // Row vectors: x' = (x - m) (S_t^½ S^-½)^T + m_t = (x - m) S^-½ S_t^½ (both symmetric).
    const m = tf.matMul(invSqrt, tf.tile(sqrt, [n, 1, 1]));
    const flat = tf.sub(tf.reshape(img, [n, h * w, c]), tf.expandDims(own.mean, 1));
    const out = tf.add(tf.matMul(flat, m), tf.expandDims(target.mean, 1));
    return tf.reshape(out, [n, h, w, c]) as tf.Tensor4D;
  });
}
