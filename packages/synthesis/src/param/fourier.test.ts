import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRng, randomNormal } from '@cnnviz/core';
import { fourierParam } from './fourier.js';
import { toValidRgb } from './color.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Reference: Lucid's fft_image through TF.js's own complex FFT (irfft2d = ifft over rows, irfft over columns). */
function reference(spectrum: tf.Tensor2D, h: number, w: number, c: number, decay = 1): tf.Tensor4D {
  return tf.tidy(() => {
    const fw = Math.floor(w / 2) + 1;
    const [re, im] = tf.split(spectrum, 2, 0); // [H, C*FW]
    const scale: number[][] = [];
    for (let ky = 0; ky < h; ky++) {
      const fy = (ky < Math.ceil(h / 2) ? ky : ky - h) / h;
      scale.push([]);
      for (let b = 0; b < c; b++)
        for (let kx = 0; kx < fw; kx++)
          scale[ky].push(
            (1 / Math.max(Math.hypot(fy, kx / w), 1 / Math.max(h, w)) ** decay) * Math.sqrt(w * h),
          );
    }
    const s = tf.tensor2d(scale);
    const spec = tf.complex(tf.mul(re, s), tf.mul(im, s)); // [H, C*FW]
    // ifft along rows: transpose so rows are innermost.
    const cols = tf.ifft(tf.transpose(spec)); // [C*FW, H]
    const rows = tf.transpose(cols); // [H, C*FW]
    const r3 = tf.reshape(tf.real(rows), [h, c, fw]);
    const i3 = tf.reshape(tf.imag(rows), [h, c, fw]);
    // Inverse real FFT along columns as a complex ifft of the Hermitian extension, real part
    // (numpy's irfft; tf.irfft only handles even lengths).
    const m = w - fw; // bins 1..m mirrored into the top of the spectrum
    const mirror = (t: tf.Tensor, sign: number) =>
      tf.mul(tf.reverse(tf.slice(t, [0, 0, 1], [h, c, m]), 2), sign);
    const fullRe = tf.concat([r3, mirror(r3, 1)], 2);
    const fullIm = tf.concat([i3, mirror(i3, -1)], 2);
    const img = tf.real(tf.ifft(tf.complex(fullRe, fullIm))); // [H, C, W]
    return tf.div(tf.expandDims(tf.transpose(img, [0, 2, 1]), 0), 4) as tf.Tensor4D;
  });
}

describe('fourierParam', () => {
  // 8, 6 and 224 rows take the four-step row transform (224 = 14 x 16, as at the default size), 7 the dense one.
  for (const [h, w] of [
    [8, 8],
    [7, 10],
    [6, 9],
    [224, 6],
    // Widths with no mirrored column (1, 2) and one (3): the image's columns x and W - x share their products.
    [5, 1],
    [4, 2],
    [5, 3],
  ]) {
    it(`matches a complex-FFT inverse of the scaled spectrum (${h}x${w})`, () => {
      const p = fourierParam([1, h, w, 2], createRng(3), { decorrelate: false, sd: 0.5 });
      const img = p.image();
      const logits = tf.tidy(() => tf.mul(tf.log(tf.div(img, tf.sub(1, img))), 1));
      const ref = reference(p.variables[0] as tf.Tensor2D, h, w, 2);
      const err = tf.tidy(() => tf.max(tf.abs(tf.sub(logits, ref))).dataSync()[0]);
      const mag = tf.tidy(() => tf.max(tf.abs(ref)).dataSync()[0]);
      expect(mag).toBeGreaterThan(0.1);
      expect(err).toBeLessThan(1e-3 * Math.max(1, mag));
      tf.dispose([img, logits, ref]);
      p.dispose();
    });
  }

  for (const [n, h, w, c, decorrelate] of [
    [2, 8, 10, 3, true],
    [1, 9, 7, 1, false],
  ] as const) {
    it(`its spectrum gradient matches central differences (${n}x${h}x${w}x${c}, decorrelate ${decorrelate})`, () => {
      const before = tf.memory().numTensors;
      const p = fourierParam([n, h, w, c], createRng(2), { decorrelate, sd: 0.3 });
      const v = p.variables[0] as tf.Variable;
      const u = randomNormal([n, h, w, c], createRng(4));
      const f = (x: tf.Tensor) => tf.sum(tf.mul(p.render(x), u)) as tf.Scalar;
      const g = tf.grad(f)(v);
      for (const seed of [7, 8, 9]) {
        const d = tf.tidy(() => tf.reshape(randomNormal([v.size], createRng(seed)), v.shape));
        const eps = 1e-2;
        const fd = tf.tidy(
          () =>
            (f(tf.add(v, tf.mul(d, eps))).dataSync()[0] - f(tf.sub(v, tf.mul(d, eps))).dataSync()[0]) /
            (2 * eps),
        );
        const an = tf.tidy(() => tf.sum(tf.mul(g, d)).dataSync()[0]);
        expect(Math.abs(an - fd)).toBeLessThan(1e-2 * Math.max(1, Math.abs(fd)));
        d.dispose();
      }
      tf.dispose([g, u]);
      p.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('produces a differentiable image in 0..1 and frees its tensors', () => {
    const before = tf.memory().numTensors;
    const p = fourierParam([2, 16, 16, 3], createRng(1));
    const g = tf.variableGrads(() => tf.mean(tf.square(p.image())), p.variables);
    const grad = g.grads[p.variables[0].name];
    expect(grad.shape).toEqual(p.variables[0].shape);
    expect(tf.tidy(() => tf.max(tf.abs(grad)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([g.value, grad]);
    const img = p.image();
    const v = img.dataSync();
    expect(Math.min(...v)).toBeGreaterThan(0);
    expect(Math.max(...v)).toBeLessThan(1);
    img.dispose();
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  for (const [h, w, c, decorrelate] of [
    [12, 12, 3, true],
    [9, 14, 3, false],
    [11, 7, 1, true],
  ] as const) {
    it(`init: starts exactly at the given image (${h}x${w}x${c}, decorrelate ${decorrelate})`, () => {
      const before = tf.memory().numTensors;
      const img = tf.tidy(() =>
        tf.clipByValue(tf.add(tf.mul(randomNormal([2, h, w, c], createRng(5)), 0.2), 0.5), 0.01, 0.99),
      ) as tf.Tensor4D;
      const p = fourierParam([2, h, w, c], createRng(1), { init: img, decorrelate });
      const back = p.image();
      expect(tf.tidy(() => tf.max(tf.abs(tf.sub(back, img))).dataSync()[0])).toBeLessThan(2e-3);
      tf.dispose([img, back]);
      p.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('colour decorrelation maps zero to mid-grey and is linear before the sigmoid', () => {
    const out = tf.tidy(() => toValidRgb(tf.zeros([1, 2, 2, 3])));
    expect(Array.from(out.dataSync()).every((v) => Math.abs(v - 0.5) < 1e-7)).toBe(true);
    out.dispose();
    // The first component is luminance: equal positive weights on R, G, B (Lucid's matrix column 0).
    const lum = tf.tidy(() => toValidRgb(tf.tensor4d([1, 0, 0], [1, 1, 1, 3])));
    const [r, g, b] = lum.dataSync();
    expect(r).toBeGreaterThan(0.5);
    expect(Math.abs(r - g)).toBeLessThan(0.01);
    expect(Math.abs(g - b)).toBeLessThan(0.01);
    lum.dispose();
  });
});
