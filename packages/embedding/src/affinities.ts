/**
 * t-SNE input similarities: per-point Gaussian bandwidths found by binary search so each
 * conditional distribution has the requested perplexity (van der Maaten & Hinton 2008), then
 * symmetrised, p_ij = (p_j|i + p_i|j) / 2N.
 */

/**
 * Calibrates one row in place: `dist2[off .. off+len)` holds squared distances; on return
 * `out[off ..]` holds p_j|i summing to 1. Distances are shifted by their minimum first, which
 * cancels in the normalisation and keeps exp() from underflowing for far-away points.
 */
export function calibrateRow(
  dist2: ArrayLike<number>,
  off: number,
  len: number,
  perplexity: number,
  out: Float64Array,
  skip = -1,
): void {
  const target = Math.log(perplexity);
  let dmin = Infinity;
  for (let j = 0; j < len; j++) if (j !== skip && dist2[off + j] < dmin) dmin = dist2[off + j];
  let beta = 1;
  let lo = -Infinity;
  let hi = Infinity;
  let sum = 0;
  for (let iter = 0; iter < 200; iter++) {
    sum = 0;
    let dot = 0;
    for (let j = 0; j < len; j++) {
      if (j === skip) {
        out[off + j] = 0;
        continue;
      }
      const dd = dist2[off + j] - dmin;
      const p = Math.exp(-beta * dd);
      out[off + j] = p;
      sum += p;
      dot += dd * p;
    }
    const H = Math.log(sum) + (beta * dot) / sum;
    const diff = H - target;
    if (Math.abs(diff) < 1e-5) break;
    if (diff > 0) {
      lo = beta;
      beta = hi === Infinity ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = lo === -Infinity ? beta / 2 : (beta + lo) / 2;
    }
  }
  for (let j = 0; j < len; j++) out[off + j] /= sum;
}

/** Symmetrised sparse P, each unordered pair stored once (i < j) in compressed rows. */
export interface SparseP {
  n: number;
  /** Row i's pairs are at [rowPtr[i], rowPtr[i + 1]). */
  rowPtr: Int32Array;
  /** The partner j > i, ascending within a row. */
  cols: Int32Array;
  vals: Float64Array;
}

/**
 * From k neighbours per row (`indices`, `dist2`, row-major n x k) to the symmetric joint P,
 * stored once per unordered pair.
 */
export function sparseJointP(
  indices: Int32Array,
  dist2: Float64Array,
  n: number,
  k: number,
  perplexity: number,
): SparseP {
  const cond = new Float64Array(n * k);
  for (let i = 0; i < n; i++) calibrateRow(dist2, i * k, k, perplexity, cond);
  // Entries (min(i,j), max(i,j), p) for both directions, bucketed by their first index.
  const start = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) start[Math.min(i, indices[i * k + t]) + 1]++;
  }
  for (let i = 0; i < n; i++) start[i + 1] += start[i];
  const fill = start.slice(0, n);
  const other = new Int32Array(n * k);
  const value = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = indices[i * k + t];
      const pos = fill[Math.min(i, j)]++;
      other[pos] = Math.max(i, j);
      value[pos] = cond[i * k + t];
    }
  }
  // Sort each bucket by partner (insertion sort: buckets are short) and merge the pairs that
  // were listed from both sides.
  const rowPtr = new Int32Array(n + 1);
  let w = 0;
  let total = 0;
  for (let a = 0; a < n; a++) {
    const s = start[a];
    const e = start[a + 1];
    for (let t = s + 1; t < e; t++) {
      const o = other[t];
      const v = value[t];
      let u = t - 1;
      while (u >= s && other[u] > o) {
        other[u + 1] = other[u];
        value[u + 1] = value[u];
        u--;
      }
      other[u + 1] = o;
      value[u + 1] = v;
    }
    rowPtr[a] = w;
    for (let t = s; t < e;) {
      const b = other[t];
      let v = 0;
      while (t < e && other[t] === b) v += value[t++];
      other[w] = b;
      value[w++] = v;
      total += 2 * v;
    }
  }
  rowPtr[n] = w;
  const vals = value.slice(0, w);
  for (let t = 0; t < w; t++) vals[t] /= total;
  return { n, rowPtr, cols: other.slice(0, w), vals };
}

/** Dense symmetric P (n x n, zero diagonal) from all pairwise distances: the exact t-SNE input. */
export function denseJointP(data: Float32Array, n: number, d: number, perplexity: number): Float64Array {
  const D = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const v = data[i * d + t] - data[j * d + t];
        s += v * v;
      }
      D[i * n + j] = s;
      D[j * n + i] = s;
    }
  }
  const P = new Float64Array(n * n);
  for (let i = 0; i < n; i++) calibrateRow(D, i * n, n, perplexity, P, i);
  let total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = P[i * n + j] + P[j * n + i];
      P[i * n + j] = v;
      P[j * n + i] = v;
      total += 2 * v;
    }
  }
  for (let t = 0; t < n * n; t++) P[t] /= total;
  return P;
}
