import { check, checkNumber } from '@cnnviz/core';
import { knnFlat } from './knn.js';
import { readMatrix, type Matrix } from './matrix.js';

/**
 * Trustworthiness of an embedding (Venna & Kaski 2001; sklearn.manifold.trustworthiness): 1 minus
 * a penalty for points that are among the k nearest in `low` but not in `high`, weighted by how
 * far down the high-dimensional ranking they are. 1 = every low-D neighbour is a true
 * neighbour. O(N^2 (D + k)) time, O(N) extra memory.
 */
export async function trustworthiness(high: Matrix, low: Matrix, k = 5): Promise<number> {
  const H = await readMatrix(high, 'high');
  const L = await readMatrix(low, 'low');
  const n = H.n;
  check(L.n === n, 'BAD_INPUT', `high has ${n} rows but low has ${L.n}; both must describe the same points`);
  checkNumber(k, 'k', { integer: true, min: 1 });
  check(k < n / 2, 'BAD_OPTION', `k must be below N / 2 = ${n / 2}, got ${k}`);
  const lowNN = await knnFlat(L, 'self', { k, excludeSelf: true }, 'js');
  const d = H.d;
  const row = new Float64Array(n);
  let penalty = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) {
        const v = H.data[i * d + t] - H.data[j * d + t];
        s += v * v;
      }
      row[j] = s;
    }
    for (let t = 0; t < k; t++) {
      const j = lowNN.indices[i * k + t];
      const dj = row[j];
      // Rank among the others (1 = nearest), ties to the lower index as a stable sort would.
      let rank = 1;
      for (let l = 0; l < n; l++) {
        if (l === i || l === j) continue;
        if (row[l] < dj || (row[l] === dj && l < j)) rank++;
      }
      if (rank > k) penalty += rank - k;
    }
  }
  return 1 - (2 / (n * k * (2 * n - 3 * k - 1))) * penalty;
}
