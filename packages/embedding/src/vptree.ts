import type { Rng } from '@cnnviz/core';
import { squaredDistance } from './knn.js';

/**
 * Exact k nearest neighbours of every row among the others with a vantage-point tree
 * (Yianilos 1993), as bhtsne computes t-SNE's input similarities. Returns, per row, `k`
 * neighbour indices and squared euclidean distances, nearest first (ties: lower index).
 */
export async function vpTreeKnn(
  data: Float32Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  pause?: () => Promise<void>,
): Promise<{ indices: Int32Array; dist2: Float64Array }> {
  // Flat nodes: vantage point, median radius, inside child, outside child (-1: none).
  const vp = new Int32Array(n);
  const radius = new Float64Array(n);
  const inside = new Int32Array(n).fill(-1);
  const outside = new Int32Array(n).fill(-1);
  const items = new Int32Array(n);
  for (let i = 0; i < n; i++) items[i] = i;
  const dist = new Float64Array(n);
  let nodes = 0;

  const distance = (a: number, b: number): number => Math.sqrt(squaredDistance(data, a * d, data, b * d, d));

  // Builds the subtree over items[lo, hi) and returns its node id.
  const build = (lo: number, hi: number): number => {
    if (lo >= hi) return -1;
    const node = nodes++;
    const pick = lo + Math.floor(rng() * (hi - lo));
    const tmp = items[lo];
    items[lo] = items[pick];
    items[pick] = tmp;
    const p = items[lo];
    vp[node] = p;
    if (hi - lo > 1) {
      for (let t = lo + 1; t < hi; t++) dist[items[t]] = distance(p, items[t]);
      const mid = (lo + 1 + hi) >> 1;
      select(items, dist, lo + 1, hi - 1, mid);
      radius[node] = dist[items[mid]];
      inside[node] = build(lo + 1, mid);
      outside[node] = build(mid, hi);
    }
    return node;
  };
  const root = build(0, n);

  const indices = new Int32Array(n * k);
  const dist2 = new Float64Array(n * k);
  const heapD = new Float64Array(k);
  const heapI = new Int32Array(k);
  const stack = new Int32Array(2 * n + 2);
  const bound = new Float64Array(2 * n + 2);

  for (let q = 0; q < n; q++) {
    if (pause && (q & 255) === 0) await pause();
    let size = 0;
    let tau = Infinity;
    let sp = 0;
    stack[sp] = root;
    bound[sp++] = 0;
    while (sp > 0) {
      sp--;
      // A lower bound on the distance to anything under this node, checked again now that tau may have shrunk.
      if (bound[sp] > tau) continue;
      const node = stack[sp];
      const p = vp[node];
      const dq = distance(q, p);
      if (p !== q && (size < k || dq < heapD[0] || (dq === heapD[0] && p < heapI[0]))) {
        size = heapPush(heapD, heapI, size, k, dq, p);
        if (size === k) tau = heapD[0];
      }
      const inn = inside[node];
      const out = outside[node];
      const r = radius[node];
      // Push the likelier side last so it is searched first.
      if (dq < r) {
        if (out >= 0 && r - dq <= tau) {
          stack[sp] = out;
          bound[sp++] = r - dq;
        }
        if (inn >= 0) {
          stack[sp] = inn;
          bound[sp++] = 0;
        }
      } else {
        if (inn >= 0 && dq - r <= tau) {
          stack[sp] = inn;
          bound[sp++] = dq - r;
        }
        if (out >= 0) {
          stack[sp] = out;
          bound[sp++] = 0;
        }
      }
    }
    // Pop the max-heap into ascending order; squared distances are summed again rather than
    // squared from the root, so they equal those of the blocked kNN bit for bit.
    for (let t = size - 1; t >= 0; t--) {
      const j = heapI[0];
      indices[q * k + t] = j;
      dist2[q * k + t] = squaredDistance(data, q * d, data, j * d, d);
      size = heapPop(heapD, heapI, size);
    }
  }
  return { indices, dist2 };
}

/** Pushes into a max-heap of capacity k ordered by (distance, index); returns the new size. */
function heapPush(hd: Float64Array, hi: Int32Array, size: number, k: number, v: number, j: number): number {
  if (size === k) {
    size = heapPop(hd, hi, size);
  }
  let pos = size++;
  while (pos > 0) {
    const parent = (pos - 1) >> 1;
    if (hd[parent] > v || (hd[parent] === v && hi[parent] > j)) break;
    hd[pos] = hd[parent];
    hi[pos] = hi[parent];
    pos = parent;
  }
  hd[pos] = v;
  hi[pos] = j;
  return size;
}

function heapPop(hd: Float64Array, hi: Int32Array, size: number): number {
  size--;
  const v = hd[size];
  const j = hi[size];
  let pos = 0;
  for (;;) {
    const l = 2 * pos + 1;
    if (l >= size) break;
    let c = l;
    if (l + 1 < size && (hd[l + 1] > hd[l] || (hd[l + 1] === hd[l] && hi[l + 1] > hi[l]))) c = l + 1;
    if (hd[c] < v || (hd[c] === v && hi[c] < j)) break;
    hd[pos] = hd[c];
    hi[pos] = hi[c];
    pos = c;
  }
  hd[pos] = v;
  hi[pos] = j;
  return size;
}

/** Quickselect: reorders items[lo..hi] so items[kth] has the kth smallest key (Hoare partition). */
function select(items: Int32Array, key: Float64Array, lo: number, hi: number, kth: number): void {
  while (hi > lo) {
    const mid = (lo + hi) >> 1;
    const pivot = key[items[mid]];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (key[items[i]] < pivot) i++;
      while (key[items[j]] > pivot) j--;
      if (i <= j) {
        const t = items[i];
        items[i] = items[j];
        items[j] = t;
        i++;
        j--;
      }
    }
    if (kth <= j) hi = j;
    else if (kth >= i) lo = i;
    else return;
  }
}
