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

/** The largest divisor of n that is at most sqrt(n) (1 for a prime). */
function largestFactorAtMostSqrt(n: number): number {
  for (let d = Math.floor(Math.sqrt(n)); d > 1; d--) if (n % d === 0) return d;
  return 1;
}

/** The inverse DFT of size n (e^{+2 pi i k y / n}, unnormalised) as a real [2n, 2n] matrix on [real; imaginary]. */
function complexDft(n: number): Float32Array {
  const out = new Float32Array(2 * n * 2 * n);
  for (let y = 0; y < n; y++) {
    for (let k = 0; k < n; k++) {
      const a = (2 * Math.PI * ((k * y) % n)) / n;
      out[y * 2 * n + k] = Math.cos(a);
      out[y * 2 * n + n + k] = -Math.sin(a);
      out[(n + y) * 2 * n + k] = Math.sin(a);
      out[(n + y) * 2 * n + n + k] = Math.cos(a);
    }
  }
  return out;
}

/** A [rows, cols] matrix with its top and bottom halves of rows exchanged. */
function swapHalves(m: Float32Array): Float32Array {
  const half = m.length / 2;
  const out = new Float32Array(m.length);
  out.set(m.subarray(half), 0);
  out.set(m.subarray(0, half), half);
  return out;
}

/** A square [n, n] matrix transposed. */
function transposed(m: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j * n + i] = m[i * n + j];
  return out;
}

/** Four-step twiddles e^{2 pi i k2 y1 / (p q)} as [q, 1, 2p] factors [k2, -, re|im, y1]: [cos, cos] and [-sin, sin]. */
function twiddles(p: number, q: number): { twiddleCos: tf.Tensor3D; twiddleSin: tf.Tensor3D } {
  const c = new Float32Array(q * 2 * p);
  const s = new Float32Array(q * 2 * p);
  for (let k2 = 0; k2 < q; k2++) {
    for (let y1 = 0; y1 < p; y1++) {
      const a = (2 * Math.PI * ((k2 * y1) % (p * q))) / (p * q);
      const i = k2 * 2 * p + y1;
      c[i] = c[i + p] = Math.cos(a);
      s[i] = -Math.sin(a);
      s[i + p] = Math.sin(a);
    }
  }
  return { twiddleCos: tf.tensor3d(c, [q, 1, 2 * p]), twiddleSin: tf.tensor3d(s, [q, 1, 2 * p]) };
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

  // Inverse DFT along rows. For h = P Q (P the largest factor <= sqrt h) as Cooley-Tukey's four steps — a DFT of
  // size P over k1 for each k2 (k = Q k1 + k2), twiddles e^{2 pi i k2 y1 / h}, a DFT of size Q over k2 for each y1
  // (y = y1 + P y2) — each DFT a real matrix product on [real, imaginary] rows: 4 h m (P + Q) multiply-adds instead
  // of the dense 4 h² m (224 px: 9 M instead of 68 M, forward and again backward). The spectrum is the left operand
  // and the small DFT matrix the right one: wasm's matMul runs as a convolution with the right operand as its
  // filter, whose packing it caches for a constant but repeats for every new tensor.
  const p = largestFactorAtMostSqrt(h);
  const q = h / p;
  const fourStep = p > 1;
  // Inverse real DFT along columns: x = Zr @ c_k cos / (H W) + Zi @ -c_k sin / (H W), where c_k = 2 for
  // the bins that stand for a conjugate pair and 1 for the DC (and even-width Nyquist) bin. Cosine is even and
  // sine odd about x = 0 (mod W), so only the columns x = 0..W/2 are multiplied out: with E = Zr @ cos and
  // O = Zi @ -sin there, x = E + O and W - x = E - O. Half the multiply-adds of the dense product, forward and
  // backward (224 px: 17 M instead of 34 M each way).
  const half = Math.floor(w / 2) + 1;
  const mirrored = w - half;
  const col = new Float32Array(2 * fw * half);
  for (let kx = 0; kx < fw; kx++) {
    const ck = kx === 0 || (w % 2 === 0 && kx === w / 2) ? 1 : 2;
    for (let x = 0; x < half; x++) {
      const a = (2 * Math.PI * kx * x) / w;
      col[kx * half + x] = (ck * Math.cos(a)) / (h * w);
      col[(fw + kx) * half + x] = (-ck * Math.sin(a)) / (h * w);
    }
  }
  const consts = {
    scale: tf.tensor2d(scale, [h, m]),
    // The same scale for the real and the imaginary half of the spectrum.
    scale2: tf.tidy(() => tf.tile(tf.tensor2d(scale, [h, m]), [2, 1])),
    // Dense: [Zr; Zi] = [[C, -S]; [S, C]] @ [Xr; Xi]. Four-step: the transposed DFT matrices (right operands).
    rows: fourStep ? undefined : tf.tensor2d(complexDft(h), [2 * h, 2 * h]),
    dftP: fourStep ? tf.tensor2d(transposed(complexDft(p), 2 * p), [2 * p, 2 * p]) : undefined,
    // The same with its real and imaginary outputs exchanged: the twiddle product then needs no split or concat.
    dftPSwapped: fourStep
      ? tf.tensor2d(transposed(swapHalves(complexDft(p)), 2 * p), [2 * p, 2 * p])
      : undefined,
    dftQ: fourStep ? tf.tensor2d(transposed(complexDft(q), 2 * q), [2 * q, 2 * q]) : undefined,
    ...(fourStep ? twiddles(p, q) : {}),
    colRe: tf.tensor2d(col.subarray(0, fw * half), [fw, half]),
    colIm: tf.tensor2d(col.subarray(fw * half), [fw, half]),
  };
  const nc = n * c;
  /**
   * [2H, N*C*FW] scaled spectrum -> [2, H*N*C, FW]: the real and the imaginary bins of each image row, for the
   * columns. (Transposes stay 4-D: wasm's 5-D transpose took 20 ms for these 150 k values.)
   */
  const rowTransform = (x: tf.Tensor): tf.Tensor3D => {
    if (!fourStep) return tf.reshape(tf.matMul(consts.rows!, x as tf.Tensor2D), [2, h * nc, fw]);
    // [re|im, k1, k2, (n c fw)] -> [k2, (n c fw), re|im, k1]
    const xt = tf.reshape(tf.transpose(tf.reshape(x, [2, p, q, m]), [2, 3, 0, 1]), [q * m, 2 * p]);
    const a = tf.reshape(tf.matMul(xt, consts.dftP!), [q, m, 2 * p]); // [k2, (n c fw), re|im, y1]
    const swapped = tf.reshape(tf.matMul(xt, consts.dftPSwapped!), [q, m, 2 * p]); // [.., im|re, y1]
    // (ar + i ai)(c + i s) = (ar c - ai s) + i (ai c + ar s): a * [c, c] + swapped * [-s, s].
    const b = tf.add(tf.mul(a, consts.twiddleCos!), tf.mul(swapped, consts.twiddleSin!));
    // -> [(n c fw), y1, re|im, k2]
    const bt = tf.reshape(tf.transpose(tf.reshape(b, [q, m, 2, p]), [1, 3, 2, 0]), [m * p, 2 * q]);
    const zt = tf.reshape(tf.matMul(bt, consts.dftQ!), [m, p, 2, q]); // [(n c fw), y1, re|im, y2]
    // -> [re|im, y2, y1, (n c), fw] = [2, H*N*C, FW] with y = P y2 + y1.
    return tf.reshape(tf.transpose(zt, [2, 3, 1, 0]), [2, h * nc, fw]);
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
      const z = rowTransform(tf.mul(value, consts.scale2));
      const part = (i: number) => tf.reshape(tf.slice(z, [i, 0, 0], [1, h * nc, fw]), [h * nc, fw]);
      const even = tf.matMul(part(0), consts.colRe); // [H*N*C, W/2 + 1]
      const odd = tf.matMul(part(1), consts.colIm);
      const left = tf.add(even, odd); // x = 0..W/2
      const pixels =
        mirrored > 0
          ? tf.concat([left, tf.reverse(tf.slice(tf.sub(even, odd), [0, 1], [-1, mirrored]), 1)], 1)
          : left; // [H*N*C, W]
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
      for (const t of Object.values(consts)) t?.dispose();
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
