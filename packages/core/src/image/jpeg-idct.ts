/*
 * Inverse DCTs of the streaming JPEG decoder (jpeg-rows.ts).
 *
 * The full-size 8 x 8 transform is adapted from jpeg-js 0.4.4 (lib/decoder.js, BSD-3-Clause,
 * Copyright (c) 2014, Eugene Ware), itself from pdf.js (Apache-2.0, Copyright 2011 notmasteryet),
 * a port of poppler's IDCT: C. Loeffler, A. Ligtenberg, G. Moschytz, "Practical Fast 1-D DCT
 * Algorithms with 11 Multiplications", ICASSP 1989. The notices are in packages/core/NOTICE.
 * Keeping its integer rounding keeps full-size output identical to jpeg-js's.
 */

const dctCos1 = 4017; // cos(pi/16)
const dctSin1 = 799; // sin(pi/16)
const dctCos3 = 3406; // cos(3*pi/16)
const dctSin3 = 2276; // sin(3*pi/16)
const dctCos6 = 1567; // cos(6*pi/16)
const dctSin6 = 3784; // sin(6*pi/16)
const dctSqrt2 = 5793; // sqrt(2)
const dctSqrt1d2 = 2896; // sqrt(2) / 2

const clamp8 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : v);

/**
 * One 8-point pass over p[base + k * stride]. The row pass keeps 4 more fractional bits
 * (sh = 8, odd inputs shifted by 4); the column pass works at sh = 12 (jpeg-js's rounding).
 */
function pass(p: Int32Array, base: number, stride: number, sh: number, oddShift: number): void {
  const r = 1 << (sh - 1);
  const i0 = base;
  const i1 = base + stride;
  const i2 = base + 2 * stride;
  const i3 = base + 3 * stride;
  const i4 = base + 4 * stride;
  const i5 = base + 5 * stride;
  const i6 = base + 6 * stride;
  const i7 = base + 7 * stride;
  if (p[i1] === 0 && p[i2] === 0 && p[i3] === 0 && p[i4] === 0 && p[i5] === 0 && p[i6] === 0 && p[i7] === 0) {
    const t = (dctSqrt2 * p[i0] + (r << 2)) >> (sh + 2);
    p[i0] = p[i1] = p[i2] = p[i3] = p[i4] = p[i5] = p[i6] = p[i7] = t;
    return;
  }
  let t;
  let v0 = (dctSqrt2 * p[i0] + r) >> sh;
  let v1 = (dctSqrt2 * p[i4] + r) >> sh;
  let v2 = p[i2];
  let v3 = p[i6];
  let v4 = (dctSqrt1d2 * (p[i1] - p[i7]) + r) >> sh;
  let v7 = (dctSqrt1d2 * (p[i1] + p[i7]) + r) >> sh;
  let v5 = p[i3] << oddShift;
  let v6 = p[i5] << oddShift;
  // stage 3
  t = (v0 - v1 + 1) >> 1;
  v0 = (v0 + v1 + 1) >> 1;
  v1 = t;
  t = (v2 * dctSin6 + v3 * dctCos6 + r) >> sh;
  v2 = (v2 * dctCos6 - v3 * dctSin6 + r) >> sh;
  v3 = t;
  t = (v4 - v6 + 1) >> 1;
  v4 = (v4 + v6 + 1) >> 1;
  v6 = t;
  t = (v7 + v5 + 1) >> 1;
  v5 = (v7 - v5 + 1) >> 1;
  v7 = t;
  // stage 2
  t = (v0 - v3 + 1) >> 1;
  v0 = (v0 + v3 + 1) >> 1;
  v3 = t;
  t = (v1 - v2 + 1) >> 1;
  v1 = (v1 + v2 + 1) >> 1;
  v2 = t;
  t = (v4 * dctSin3 + v7 * dctCos3 + 2048) >> 12;
  v4 = (v4 * dctCos3 - v7 * dctSin3 + 2048) >> 12;
  v7 = t;
  t = (v5 * dctSin1 + v6 * dctCos1 + 2048) >> 12;
  v5 = (v5 * dctCos1 - v6 * dctSin1 + 2048) >> 12;
  v6 = t;
  // stage 1
  p[i0] = v0 + v7;
  p[i7] = v0 - v7;
  p[i1] = v1 + v6;
  p[i6] = v1 - v6;
  p[i2] = v2 + v5;
  p[i5] = v2 - v5;
  p[i3] = v3 + v4;
  p[i4] = v3 - v4;
}

/**
 * Dequantises one block (`coefs` in natural order from `at`) and writes its 8 x 8 samples into
 * `out` at `o` with row stride `stride`. `p` is scratch of 64 entries.
 */
export function idct8(
  coefs: ArrayLike<number>,
  at: number,
  qt: Int32Array,
  p: Int32Array,
  out: Uint8Array,
  o: number,
  stride: number,
): void {
  for (let i = 0; i < 64; i++) p[i] = coefs[at + i] * qt[i];
  for (let row = 0; row < 64; row += 8) pass(p, row, 1, 8, 4);
  for (let col = 0; col < 8; col++) pass(p, col, 8, 12, 0);
  for (let y = 0; y < 8; y++) {
    const r = o + y * stride;
    for (let x = 0; x < 8; x++) out[r + x] = clamp8(128 + ((p[8 * y + x] + 8) >> 4));
  }
}

/** basis[n][x * n + u] = C(u) cos((2x + 1) u pi / 2n), C(0) = 1/sqrt(2), else 1. */
const basis: Record<number, Float64Array> = {};
for (const n of [1, 2, 4, 8]) {
  const b = new Float64Array(n * n);
  for (let x = 0; x < n; x++)
    for (let u = 0; u < n; u++)
      b[x * n + u] = (u === 0 ? Math.SQRT1_2 : 1) * Math.cos(((2 * x + 1) * u * Math.PI) / (2 * n));
  basis[n] = b;
}

/**
 * The reduced-size inverse DCT of libjpeg's scale_denom: an nh x nw block (each 1, 2, 4 or 8,
 * not both 8) from the nh x nw lowest-frequency coefficients, with the 8-point transform's scale,
 * so each sample is about the mean of the pixels it stands for and the work drops with the size.
 * Non-square sizes serve subsampled chroma (4:2:2 at 1/2 is 4 x 8). `tmp` is scratch of 64.
 */
export function idctReduced(
  nw: number,
  nh: number,
  coefs: ArrayLike<number>,
  at: number,
  qt: Int32Array,
  tmp: Float64Array,
  out: Uint8Array,
  o: number,
  stride: number,
): void {
  if (nw === 1 && nh === 1) {
    out[o] = clamp8(Math.round(128 + (coefs[at] * qt[0]) / 8));
    return;
  }
  const bw = basis[nw];
  const bh = basis[nh];
  // Each row of coefficients (vertical frequency v) to nw samples, then each column to nh.
  for (let v = 0; v < nh; v++) {
    for (let x = 0; x < nw; x++) {
      let s = 0;
      for (let u = 0; u < nw; u++) s += bw[x * nw + u] * coefs[at + 8 * v + u] * qt[8 * v + u];
      tmp[v * nw + x] = s;
    }
  }
  for (let y = 0; y < nh; y++) {
    const r = o + y * stride;
    for (let x = 0; x < nw; x++) {
      let s = 0;
      for (let v = 0; v < nh; v++) s += bh[y * nh + v] * tmp[v * nw + x];
      out[r + x] = clamp8(Math.round(128 + s / 4));
    }
  }
}
