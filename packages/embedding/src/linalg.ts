/**
 * Small dense linear algebra on typed arrays (row-major). Only what PCA, kNN and t-SNE need;
 * the big products go to TF.js where that is faster (see `preferTfMatMul`).
 */

/**
 * Eigen-decomposition of a symmetric `n x n` matrix: Householder tridiagonalisation and
 * implicit QL (EISPACK tred2/tql2 as in JAMA). Returns eigenvalues in descending order and the
 * eigenvectors as rows (`vectors[i * n + k]` is component k of eigenvector i).
 */
export function symmetricEigen(
  a: ArrayLike<number>,
  n: number,
): { values: Float64Array; vectors: Float64Array } {
  const V = Float64Array.from(a as ArrayLike<number>);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 1) return { values: Float64Array.of(V[0]), vectors: Float64Array.of(1) };
  tred2(V, d, e, n);
  tql2(V, d, e, n);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => d[j] - d[i] || i - j);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    const c = order[r];
    values[r] = d[c];
    for (let k = 0; k < n; k++) vectors[r * n + k] = V[k * n + c];
  }
  return { values, vectors };
}

function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

function tql2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        iter++;
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          for (let k = 0; k < n; k++) {
            const row = k * n;
            h = V[row + i + 1];
            V[row + i + 1] = s * V[row + i] + c * h;
            V[row + i] = c * V[row + i] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
        // 60 sweeps is far beyond what a symmetric matrix needs; stop rather than spin on NaN.
      } while (Math.abs(e[l]) > eps * tst1 && iter < 60);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/**
 * `C[i * m + j] = sum_t A[i * d + t] * B[j * d + t]` (A times B transposed): rows of both are
 * contiguous, so the inner loop streams memory. A 4x2 register block keeps 8 sums in registers.
 */
export function gemmABt(
  A: ArrayLike<number>,
  B: ArrayLike<number>,
  n: number,
  m: number,
  d: number,
  C: Float32Array | Float64Array,
): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const a0 = i * d;
    const a1 = a0 + d;
    const a2 = a1 + d;
    const a3 = a2 + d;
    let j = 0;
    for (; j + 2 <= m; j += 2) {
      const b0 = j * d;
      const b1 = b0 + d;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let t = 0; t < d; t++) {
        const x0 = B[b0 + t];
        const x1 = B[b1 + t];
        const y0 = A[a0 + t];
        const y1 = A[a1 + t];
        const y2 = A[a2 + t];
        const y3 = A[a3 + t];
        s00 += y0 * x0;
        s01 += y0 * x1;
        s10 += y1 * x0;
        s11 += y1 * x1;
        s20 += y2 * x0;
        s21 += y2 * x1;
        s30 += y3 * x0;
        s31 += y3 * x1;
      }
      const c = i * m + j;
      C[c] = s00;
      C[c + 1] = s01;
      C[c + m] = s10;
      C[c + m + 1] = s11;
      C[c + 2 * m] = s20;
      C[c + 2 * m + 1] = s21;
      C[c + 3 * m] = s30;
      C[c + 3 * m + 1] = s31;
    }
    for (; j < m; j++) {
      for (let r = 0; r < 4; r++) C[(i + r) * m + j] = dot(A, (i + r) * d, B, j * d, d);
    }
  }
  for (; i < n; i++) {
    for (let j = 0; j < m; j++) C[i * m + j] = dot(A, i * d, B, j * d, d);
  }
}

/** Dot product of two length-`d` runs of two arrays. */
export function dot(A: ArrayLike<number>, a: number, B: ArrayLike<number>, b: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let t = 0;
  for (; t + 2 <= d; t += 2) {
    s0 += A[a + t] * B[b + t];
    s1 += A[a + t + 1] * B[b + t + 1];
  }
  if (t < d) s0 += A[a + t] * B[b + t];
  return s0 + s1;
}

/** `Y (n x l) = X (n x d) * W (d x l)`, accumulated in float64. */
export function gemmAB(
  X: ArrayLike<number>,
  W: ArrayLike<number>,
  n: number,
  d: number,
  l: number,
): Float64Array {
  const Y = new Float64Array(n * l);
  for (let i = 0; i < n; i++) {
    const yo = i * l;
    const xo = i * d;
    for (let t = 0; t < d; t++) {
      const x = X[xo + t];
      if (x === 0) continue;
      const wo = t * l;
      for (let c = 0; c < l; c++) Y[yo + c] += x * W[wo + c];
    }
  }
  return Y;
}

/** `Z (d x l) = X^T (d x n) * Q (n x l)`, accumulated in float64 by rank-one updates per row. */
export function gemmAtB(
  X: ArrayLike<number>,
  Q: ArrayLike<number>,
  n: number,
  d: number,
  l: number,
): Float64Array {
  const Z = new Float64Array(d * l);
  for (let i = 0; i < n; i++) {
    const xo = i * d;
    const qo = i * l;
    for (let t = 0; t < d; t++) {
      const x = X[xo + t];
      if (x === 0) continue;
      const zo = t * l;
      for (let c = 0; c < l; c++) Z[zo + c] += x * Q[qo + c];
    }
  }
  return Z;
}

/** `G (l x l) = Y^T Y` for `Y (n x l)`, symmetric, float64. */
export function gramAtA(Y: ArrayLike<number>, n: number, l: number): Float64Array {
  const G = new Float64Array(l * l);
  for (let i = 0; i < n; i++) {
    const o = i * l;
    for (let a = 0; a < l; a++) {
      const y = Y[o + a];
      if (y === 0) continue;
      const go = a * l;
      for (let b = a; b < l; b++) G[go + b] += y * Y[o + b];
    }
  }
  for (let a = 0; a < l; a++) for (let b = 0; b < a; b++) G[a * l + b] = G[b * l + a];
  return G;
}

/**
 * An `l x r` matrix M with `(Y M)^T (Y M) = I` from the Gram matrix `G = Y^T Y`: M = W S^-1/2
 * over the eigenpairs of G above `relTol * max`. Orthonormalising through the small Gram matrix
 * keeps the tall products on the fast path; dropping tiny eigenvalues handles rank deficiency.
 */
export function orthonormalizer(G: Float64Array, l: number, relTol: number): { M: Float64Array; r: number } {
  const { values, vectors } = symmetricEigen(G, l);
  const cut = Math.max(values[0], 0) * relTol;
  let r = 0;
  while (r < l && values[r] > cut && values[r] > 0) r++;
  const M = new Float64Array(l * r);
  for (let c = 0; c < r; c++) {
    const s = 1 / Math.sqrt(values[c]);
    for (let k = 0; k < l; k++) M[k * r + c] = vectors[c * l + k] * s;
  }
  return { M, r };
}
