import * as tf from '@tensorflow/tfjs-core';

/** Rows of `tf.image.transform`: output pixel (x, y) samples input (a0 x + a1 y + a2, b0 x + b1 y + b2). */
function matrixRow(m: [[number, number], [number, number]], h: number, w: number): number[] {
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const [[a0, a1], [b0, b1]] = m;
  return [a0, a1, cx - a0 * cx - a1 * cy, b0, b1, cy - b0 * cx - b1 * cy, 0, 0];
}

/**
 * Rotates a batch `[N,H,W,C]` by `degrees` and scales it by `scale` about its centre (bilinear,
 * same size; outside the source `fill`, or with `fillMode` 'wrap' the image's periodic
 * continuation, which suits textures, or 'reflect' its mirror image). The warp is differentiable: TF.js has no gradient for
 * the `Transform` kernel, so the backward pass warps the incoming gradient by the inverse
 * transform times the area factor `scale²` — the adjoint of a continuous warp, and of the
 * bilinear one up to interpolation. Good enough for the random-transform prior, where only the
 * direction of the gradient on average matters, and it runs on every backend.
 */
export function affineWarp(
  x: tf.Tensor4D,
  degrees: number,
  scale: number,
  fill = 0,
  fillMode: 'constant' | 'wrap' | 'reflect' = 'constant',
): tf.Tensor4D {
  if (degrees === 0 && scale === 1) return x.clone();
  const [, h, w] = x.shape;
  const t = (degrees * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  // Output point p samples the input at M (p - c) + c with M = R(t) / scale.
  const fwd = matrixRow(
    [
      [cos / scale, -sin / scale],
      [sin / scale, cos / scale],
    ],
    h,
    w,
  );
  const inv = matrixRow(
    [
      [cos * scale, sin * scale],
      [-sin * scale, cos * scale],
    ],
    h,
    w,
  );
  const warp = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const m = tf.tensor2d([fwd]);
    const value = tf.image.transform(args[0] as tf.Tensor4D, m, 'bilinear', fillMode, fill);
    m.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor) =>
        tf.tidy(() =>
          tf.mul(
            tf.image.transform(dy as tf.Tensor4D, tf.tensor2d([inv]), 'bilinear', fillMode, 0),
            scale * scale,
          ),
        ),
    };
  });
  return warp(x) as tf.Tensor4D;
}
