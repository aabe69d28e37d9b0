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

/** Symmetrised sparse P as the upper triangle (i < j) of its pairs, sorted by i then j. */
export interface SparseP {
  n: number;
  rows: Int32Array;
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
  tick?: () => void,
): SparseP {
  const cond = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    if (tick && (i & 1023) === 0) tick();
    calibrateRow(dist2, i * k, k, perplexity, cond);
  }
  // Entries (min(i,j), max(i,j), p) for both directions, bucketed by their first index.
  const counts = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = indices[i * k + t];
      counts[Math.min(i, j) + 1]++;
    }
  }
  for (let i = 0; i < n; i++) counts[i + 1] += counts[i];
  const fill = counts.slice(0, n);
  const other = new Int32Array(n * k);
  const value = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < k; t++) {
      const j = indices[i * k + t];
      const a = Math.min(i, j);
      const pos = fill[a]++;
      other[pos] = Math.max(i, j);
      value[pos] = cond[i * k + t];
    }
  }
  // Sort each bucket by the second index and merge duplicates (a pair listed from both sides).
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  let total = 0;
  const order: number[] = [];
  for (let a = 0; a < n; a++) {
    const s = counts[a];
    const e = counts[a + 1];
    order.length = 0;
    for (let t = s; t < e; t++) order.push(t);
    order.sort((x, y) => other[x] - other[y]);
    for (let t = 0; t < order.length; ) {
      const b = other[order[t]];
      let v = 0;
      while (t < order.length && other[order[t]] === b) v += value[order[t++]];
      rows.push(a);
      cols.push(b);
      vals.push(v);
      total += 2 * v;
    }
  }
  const out: SparseP = {
    n,
    rows: Int32Array.from(rows),
    cols: Int32Array.from(cols),
    vals: Float64Array.from(vals),
  };
  for (let t = 0; t < out.vals.length; t++) out.vals[t] /= total;
  return out;
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
