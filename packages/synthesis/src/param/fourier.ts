import * as tf from '@tensorflow/tfjs-core';
import { randomNormal, type Rng } from '@cnnviz/core';
import { fromValidRgb, toValidRgb } from './color.js';
import type { ImageParam } from './types.js';

export interface FourierParamOptions {
  /** Standard deviation of the initial spectrum. Default 0.01 (Lucid). */
  sd?: number;
  /** Spectrum scaled by 1/f^decayPower, so low frequencies move fastest. Default 1 (Lucid). */
  decayPower?: number;
  /** Map channels through Lucid's colour decorrelation (3-channel images only). Default true. */
  decorrelate?: boolean;
  /** Start from this pixel batch `[N,H,W,C]` (0..1) instead of noise: its spectrum becomes the variable. */
  init?: tf.Tensor4D;
}

/** numpy's `fftfreq(n)[k]`. */
function fftfreq(k: number, n: number): number {
  return (k < Math.ceil(n / 2) ? k : k - n) / n;
}

/**
 * Lucid's `fft_image`: the image is the inverse real 2-D DFT of a learnt spectrum whose entries
 * are scaled by 1/max(f, 1/max(H,W)) — a 1/f prior, natural images' power law — followed by
 * colour decorrelation and a sigmoid (Lucid `to_valid_rgb`).
 *
 * The inverse DFT is written as two real matrix products (rows, then columns) rather than with
 * `tf.irfft`, because TF.js registers no FFT gradient and the WASM backend has no FFT kernel;
 * matrix products have gradients on every backend and are fast at the sizes used here.
 */
export function fourierParam(
  shape: [number, number, number, number],
  rng: Rng,
  opts: FourierParamOptions = {},
): ImageParam {
  const [n, h, w, c] = shape;
  const decay = opts.decayPower ?? 1;
  const fw = Math.floor(w / 2) + 1;
  const m = n * c * fw;

  // Spectrum layout [H, N*C*FW]: rows are vertical frequencies, so the first inverse DFT is one matmul.
  const scale = new Float32Array(h * m);
  for (let ky = 0; ky < h; ky++) {
    const fy = fftfreq(ky, h);
    for (let kx = 0; kx < fw; kx++) {
      const f = Math.sqrt(fy * fy + (kx / w) * (kx / w));
      const s = (1 / Math.max(f, 1 / Math.max(h, w)) ** decay) * Math.sqrt(w * h);
      for (let b = 0; b < n * c; b++) scale[ky * m + b * fw + kx] = s;
    }
  }

  // Inverse DFT along rows, real and imaginary parts in one product (one pass over the spectrum):
  // [Zr; Zi] = [[Cy, -Sy]; [Sy, Cy]] @ [Xr; Xi].
  const rows = new Float32Array(2 * h * 2 * h);
  for (let y = 0; y < h; y++) {
    for (let ky = 0; ky < h; ky++) {
      const a = (2 * Math.PI * ky * y) / h;
      rows[y * 2 * h + ky] = Math.cos(a);
      rows[y * 2 * h + h + ky] = -Math.sin(a);
      rows[(h + y) * 2 * h + ky] = Math.sin(a);
      rows[(h + y) * 2 * h + h + ky] = Math.cos(a);
    }
  }
  // Inverse real DFT along columns: x = [Zr, Zi] @ [c_k cos; -c_k sin] / (H W), where c_k = 2 for
  // the bins that stand for a conjugate pair and 1 for the DC (and even-width Nyquist) bin.
  const col = new Float32Array(2 * fw * w);
  for (let kx = 0; kx < fw; kx++) {
    const ck = kx === 0 || (w % 2 === 0 && kx === w / 2) ? 1 : 2;
    for (let x = 0; x < w; x++) {
      const a = (2 * Math.PI * kx * x) / w;
      col[kx * w + x] = (ck * Math.cos(a)) / (h * w);
      col[(fw + kx) * w + x] = (-ck * Math.sin(a)) / (h * w);
    }
  }

  const consts = {
    scale: tf.tensor2d(scale, [h, m]),
    // The same scale for the real and the imaginary half of the spectrum.
    scale2: tf.tidy(() => tf.tile(tf.tensor2d(scale, [h, m]), [2, 1])),
    rows: tf.tensor2d(rows, [2 * h, 2 * h]),
    col: tf.tensor2d(col, [2 * fw, w]),
  };
  const sd = opts.sd ?? 0.01;
  const decorrelate = opts.decorrelate ?? true;
  const init = opts.init
    ? spectrumOf(opts.init, decorrelate, consts.scale)
    : tf.tidy(() => tf.reshape(randomNormal([2 * h * m], rng, 0, sd), [2 * h, m]));
  const spectrum = tf.variable(init, true) as tf.Variable<tf.Rank.R2>;
  init.dispose();

  const render = (value: tf.Tensor): tf.Tensor4D =>
    tf.tidy(() => {
      const zz = tf.matMul(consts.rows, tf.mul(value, consts.scale2)); // [2H, N*C*FW]: Zr over Zi
      // -> [H*N*C, 2FW]: each row's real then imaginary bins, for the column transform.
      const z = tf.reshape(tf.transpose(tf.reshape(zz, [2, h, n * c, fw]), [1, 2, 0, 3]), [
        h * n * c,
        2 * fw,
      ]);
      const pixels = tf.matMul(z, consts.col); // [H*N*C, W]
      // Lucid divides by 4 so the initial image sits in the sigmoid's linear range.
      const img = tf.div(tf.transpose(tf.reshape(pixels, [h, n, c, w]), [1, 0, 3, 2]), 4);
      return decorrelate ? toValidRgb(img) : tf.sigmoid(img);
    }) as tf.Tensor4D;

  return {
    variables: [spectrum],
    image: () => render(spectrum),
    render,
    dispose: () => {
      spectrum.dispose();
      for (const t of Object.values(consts)) t.dispose();
    },
  };
}

/**
 * The spectrum variable `[2H, N*C*FW]` whose image is `pixels`: invert the sigmoid and colour
 * mapping, undo Lucid's /4, take the real 2-D DFT (as matrix products; no FFT kernel needed) and
 * divide by the 1/f scale.
 */
function spectrumOf(pixels: tf.Tensor4D, decorrelate: boolean, scale: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [n, h, w, c] = pixels.shape;
    const fw = Math.floor(w / 2) + 1;
    const t = tf.mul(
      decorrelate ? fromValidRgb(pixels) : fromValidRgb(tf.reshape(pixels, [n, h, w, c, 1])),
      4,
    );
    // [N,H,W,C] -> [H*N*C, W]
    const rows = tf.reshape(tf.transpose(tf.reshape(t, [n, h, w, c]), [1, 0, 3, 2]), [h * n * c, w]);
    const cw = new Float32Array(w * fw);
    const sw = new Float32Array(w * fw);
    for (let x = 0; x < w; x++)
      for (let k = 0; k < fw; k++) {
        const a = (2 * Math.PI * k * x) / w;
        cw[x * fw + k] = Math.cos(a);
        sw[x * fw + k] = -Math.sin(a);
      }
    // Along the width: R1 + i I1 = sum_x t e^{-i 2 pi k x / W}.
    const r1 = tf.reshape(tf.matMul(rows, tf.tensor2d(cw, [w, fw])), [h, n * c * fw]);
    const i1 = tf.reshape(tf.matMul(rows, tf.tensor2d(sw, [w, fw])), [h, n * c * fw]);
    const ch = new Float32Array(h * h);
    const sh = new Float32Array(h * h);
    for (let k = 0; k < h; k++)
      for (let y = 0; y < h; y++) {
        const a = (2 * Math.PI * k * y) / h;
        ch[k * h + y] = Math.cos(a);
        sh[k * h + y] = Math.sin(a);
      }
    const C = tf.tensor2d(ch, [h, h]);
    const S = tf.tensor2d(sh, [h, h]);
    // Along the height, e^{-i a} = cos a - i sin a: (r + i q)(cos - i sin) = r cos + q sin + i (q cos - r sin).
    const re = tf.add(tf.matMul(C, r1), tf.matMul(S, i1));
    const im = tf.sub(tf.matMul(C, i1), tf.matMul(S, r1));
    return tf.concat([tf.div(re, scale), tf.div(im, scale)], 0) as tf.Tensor2D;
  });
}
