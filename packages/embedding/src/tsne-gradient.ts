import { check } from '@cnnviz/core';
import type { SparseP } from './affinities.js';
import { memory } from './memory.js';
import { instantiateTsne, tsneModule, type TsneKernels } from './tsne-simd.js';

/** Byte offsets of the SIMD path's arrays in its wasm memory. */
export interface SimdLayout {
  node: number;
  next: number;
  idxA: number;
  idxB: number;
  sy: number;
  neg: number;
  sumQ: number;
  y: number;
  pos: number;
  rowPtr: number;
  cols: number;
  vals: number;
  n: number;
}

/**
 * P with each pair stored in both rows (i's row lists every j with p_ij > 0), columns ascending.
 * `withValues: false` leaves `vals` empty (the structure alone: a gigabyte less at 10^6 points).
 */
export function fullRows(
  P: SparseP,
  withValues = true,
): { rowPtr: Int32Array; cols: Int32Array; vals: Float64Array } {
  const { n, rowPtr, cols, vals } = P;
  const deg = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    for (let t = rowPtr[i]; t < rowPtr[i + 1]; t++) {
      deg[i + 1]++;
      deg[cols[t] + 1]++;
    }
  }
  for (let i = 0; i < n; i++) deg[i + 1] += deg[i];
  const fill = deg.slice(0, n);
  const outC = new Int32Array(deg[n]);
  const outV = new Float64Array(withValues ? deg[n] : 0);
  // Row i gets its partners j < i first (visited in order of j), then its own j > i: ascending.
  for (let i = 0; i < n; i++) {
    for (let t = rowPtr[i]; t < rowPtr[i + 1]; t++) {
      const j = cols[t];
      if (withValues) outV[fill[j]] = vals[t];
      outC[fill[j]++] = i;
    }
    for (let t = rowPtr[i]; t < rowPtr[i + 1]; t++) {
      if (withValues) outV[fill[i]] = vals[t];
      outC[fill[i]++] = cols[t];
    }
  }
  return { rowPtr: deg, cols: outC, vals: outV };
}

/**
 * t-SNE gradients on flat Float64Array embeddings (`y[i * dims + c]`).
 *
 * Barnes–Hut (van der Maaten 2014): repulsion from a space-partitioning tree (quadtree in 2-D,
 * binary tree in 1-D, octree in 3-D) whose cells count as one point at their centre of mass when
 * `width < theta * distance`; attraction over the sparse P.
 *
 * The tree is rebuilt every iteration without pointers: points are sorted by Morton code (radix
 * sort), so every cell is a contiguous run of sorted points and the tree comes out depth first
 * with single-child chains collapsed. It is stored flat in that order, and the walk is a forward
 * scan: open a cell by stepping to the next node, accept it by jumping to `next[id]`, the node
 * after its subtree. Walking points in Morton order keeps consecutive walks on the same cells.
 * Nothing is allocated per iteration.
 */
export class BarnesHut {
  private readonly n: number;
  private readonly dims: number;
  private readonly bits: number;
  private readonly shared: boolean;
  /** Per node: centre of mass (dims), point count, squared cell width (0 for a single point). */
  private node!: Float64Array;
  /** Per node: the node after its subtree. */
  private next!: Int32Array;
  private size = 0;
  private keys: Uint32Array;
  private keys2: Uint32Array;
  /** Sorted position -> point index. */
  private idx!: Int32Array;
  private idx2!: Int32Array;
  private readonly counts = new Int32Array(256);
  /** Coordinates in sorted order. */
  private sy!: Float64Array;
  private readonly lo: Float64Array;
  /** Sum over points of their exact duplicates (q = 1 each, no force); added to Z. */
  private duplicates = 0;
  private neg!: Float64Array;
  /** Per sorted point: its sum of q over the tree, summed in order for a Z independent of threads. */
  private sumQ!: Float64Array;
  private pos!: Float64Array;
  private side = 0;
  private pool?: ForcePool;
  /** The WebAssembly SIMD kernels (2-D only), with the memory every array above lives in. */
  private simd?: {
    module: WebAssembly.Module;
    memory: WebAssembly.Memory;
    k: TsneKernels;
    layout: SimdLayout;
  };
  private P?: SparseP;

  /**
   * `shared`: keep the arrays a walk reads in shared memory, so worker threads (`setPool`) can
   * share the work. Sizes are fixed: a tree over n points has at most 2n - 1 nodes. In 2-D,
   * where WebAssembly SIMD is available, the walk and the attraction run in `tsne-simd.ts`.
   */
  constructor(n: number, dims: number, shared = false) {
    this.n = n;
    this.dims = dims;
    this.shared = shared;
    this.bits = Math.min(16, Math.floor(32 / dims));
    this.keys = new Uint32Array(n);
    this.keys2 = new Uint32Array(n);
    this.lo = new Float64Array(dims);
    const module = dims === 2 ? tsneModule(shared) : null;
    if (module === null) {
      const cap = 2 * n + 16;
      const mem = memory(shared);
      this.node = mem.f64(cap * (dims + 2));
      this.next = mem.i32(cap);
      // The radix sort swaps idx/idx2; both are shared so whichever ends up sorted is readable.
      this.idx = mem.i32(n);
      this.idx2 = mem.i32(n);
      this.sy = mem.f64(n * dims);
      this.neg = mem.f64(n * dims);
      this.sumQ = mem.f64(n);
      this.pos = new Float64Array(n * dims);
    } else {
      this.simd = { module, memory: undefined as never, k: undefined as never, layout: undefined as never };
    }
  }

  /** Whether the 2-D WebAssembly SIMD kernels run the gradient. */
  get usesSimd(): boolean {
    return this.simd !== undefined;
  }

  /**
   * Sets the P of later `gradient` calls. The SIMD path lays out the tree, the embedding and P's
   * full (both directions) rows in one wasm memory, so this must come before `setPool`.
   */
  setP(P: SparseP): void {
    if (P === this.P) return;
    this.P = P;
    if (!this.simd) return;
    check(
      this.pool === undefined,
      'BAD_OPTION',
      'Barnes-Hut: P cannot change once worker threads share the memory',
    );
    const { n } = this;
    const full = fullRows(P);
    const cap = 2 * n + 16;
    let top = 0;
    const take = (bytes: number): number => {
      const at = top;
      top += Math.ceil(bytes / 16) * 16;
      return at;
    };
    const layout: SimdLayout = {
      node: take(cap * 4 * 8),
      next: take(cap * 4),
      idxA: take(n * 4),
      idxB: take(n * 4),
      sy: take(n * 2 * 8),
      neg: take(n * 2 * 8),
      sumQ: take(n * 8),
      y: take(n * 2 * 8),
      pos: take(n * 2 * 8),
      rowPtr: take((n + 1) * 4),
      cols: take(full.cols.length * 4),
      vals: take(full.vals.length * 8),
      n,
    };
    const pages = Math.ceil(top / 65536) + 1;
    const memory = new WebAssembly.Memory(
      this.shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages, maximum: pages },
    );
    const buf = memory.buffer;
    this.node = new Float64Array(buf, layout.node, cap * 4);
    this.next = new Int32Array(buf, layout.next, cap);
    this.idx = new Int32Array(buf, layout.idxA, n);
    this.idx2 = new Int32Array(buf, layout.idxB, n);
    this.sy = new Float64Array(buf, layout.sy, 2 * n);
    this.neg = new Float64Array(buf, layout.neg, 2 * n);
    this.sumQ = new Float64Array(buf, layout.sumQ, n);
    this.pos = new Float64Array(buf, layout.pos, 2 * n);
    new Int32Array(buf, layout.rowPtr, n + 1).set(full.rowPtr);
    new Int32Array(buf, layout.cols, full.cols.length).set(full.cols);
    new Float64Array(buf, layout.vals, full.vals.length).set(full.vals);
    this.simd = { module: this.simd.module, memory, k: instantiateTsne(this.simd.module, memory), layout };
  }

  /** The shared arrays, for the worker threads to map once. */
  sharedArrays(): {
    node: Float64Array;
    next: Int32Array;
    sy: Float64Array;
    idxA: Int32Array;
    idxB: Int32Array;
    neg: Float64Array;
    sumQ: Float64Array;
  } {
    return {
      node: this.node,
      next: this.next,
      sy: this.sy,
      idxA: this.idx,
      idxB: this.idx2,
      neg: this.neg,
      sumQ: this.sumQ,
    };
  }

  /** The SIMD path's module, shared memory and layout, for worker threads (after `setP`). */
  simdShared(): { module: WebAssembly.Module; memory: WebAssembly.Memory; layout: SimdLayout } | undefined {
    return this.simd?.memory
      ? { module: this.simd.module, memory: this.simd.memory, layout: this.simd.layout }
      : undefined;
  }

  setPool(pool: ForcePool | undefined): void {
    this.pool = pool;
  }

  /**
   * Writes the KL gradient (factor 4 included) into `grad`; returns Z = sum_{i != j} q_ij
   * (unnormalised Student-t kernel, Barnes–Hut estimate) for the KL report.
   */
  gradient(y: Float64Array, P: SparseP, exaggeration: number, theta: number, grad: Float64Array): number {
    this.setP(P);
    // theta = 0 must still accept single points (width 0): a tiny positive theta^2 does that.
    const theta2 = Math.max(theta * theta, 1e-100);
    const { neg, pos, sumQ, n, dims } = this;
    const simd = this.simd;
    const tree = (): TreeArrays => ({
      node: this.node,
      next: this.next,
      size: this.size,
      sy: this.sy,
      idx: this.idx,
      neg,
      sumQ,
    });
    if (simd) {
      const L = simd.layout;
      new Float64Array(simd.memory.buffer, L.y, 2 * n).set(y);
      if (this.pool) {
        // Workers start on the attraction (no tree needed) while this thread builds the tree.
        this.pool.start(null, theta2);
        this.build(y);
        this.pool.finish(tree(), theta2);
      } else {
        this.build(y);
        simd.k.walk2d(L.node, L.next, this.size, L.sy, this.idx.byteOffset, L.neg, L.sumQ, 0, n, theta2);
        simd.k.attract2d(L.y, L.rowPtr, L.cols, L.vals, L.pos, 0, n);
      }
    } else {
      this.build(y);
      const t = tree();
      if (this.pool) {
        // Workers start on the repulsion while this thread does the attraction, then joins them.
        this.pool.start(t, theta2);
        attraction(y, P, dims, pos);
        this.pool.finish(t, theta2);
      } else {
        walkRange(t.node, t.next, t.size, t.sy, t.idx, neg, sumQ, 0, n, theta2, dims);
        attraction(y, P, dims, pos);
      }
    }
    // The 2-D walk counts exact duplicates itself; the generic one skips them.
    let Z = dims === 2 ? 0 : this.duplicates;
    for (let s = 0; s < n; s++) Z += sumQ[s];
    const invZ = 1 / Z;
    for (let t = 0; t < this.n * this.dims; t++) grad[t] = 4 * (exaggeration * pos[t] - neg[t] * invZ);
    return Z;
  }

  private build(y: Float64Array): void {
    const { n, dims: D, bits, lo } = this;
    lo.fill(Infinity);
    let hiMax = -Infinity;
    for (let c = 0; c < D; c++) {
      let mn = Infinity;
      let mx = -Infinity;
      for (let i = 0; i < n; i++) {
        const v = y[i * D + c];
        if (v < mn) mn = v;
        if (v > mx) mx = v;
      }
      lo[c] = mn;
      hiMax = Math.max(hiMax, mx - mn);
    }
    this.side = hiMax > 0 ? hiMax * (1 + 1e-9) : 1;
    const scale = 2 ** bits / this.side;
    const top = 2 ** bits - 1;
    const keys = this.keys;
    for (let i = 0; i < n; i++) {
      let key = 0;
      for (let c = 0; c < D; c++) {
        const q = Math.min(top, Math.floor((y[i * D + c] - lo[c]) * scale));
        key |= spread(q, D) << c;
      }
      keys[i] = key >>> 0;
      this.idx[i] = i;
    }
    this.radixSort();
    const { sy, idx } = this;
    for (let s = 0; s < n; s++) {
      const i = idx[s];
      for (let c = 0; c < D; c++) sy[s * D + c] = y[i * D + c];
    }
    this.size = 0;
    this.duplicates = 0;
    this.buildNode(0, n, 0);
  }

  private radixSort(): void {
    const { n, counts } = this;
    for (let shift = 0; shift < 32; shift += 8) {
      const src = this.keys;
      const srcIdx = this.idx;
      const dst = this.keys2;
      const dstIdx = this.idx2;
      counts.fill(0);
      for (let i = 0; i < n; i++) counts[(src[i] >>> shift) & 255]++;
      let sum = 0;
      for (let b = 0; b < 256; b++) {
        const c = counts[b];
        counts[b] = sum;
        sum += c;
      }
      for (let i = 0; i < n; i++) {
        const p = counts[(src[i] >>> shift) & 255]++;
        dst[p] = src[i];
        dstIdx[p] = srcIdx[i];
      }
      this.keys = dst;
      this.keys2 = src;
      this.idx = dstIdx;
      this.idx2 = srcIdx;
    }
  }

  private alloc(): number {
    // Every inner node has >= 2 children and there are n point nodes, so 2n - 1 nodes suffice.
    if (this.size >= this.next.length) throw new Error('Barnes-Hut tree exceeded its 2n - 1 node bound');
    return this.size++;
  }

  /** Builds the subtree over sorted points [a, b) whose keys agree above `level`; returns its id. */
  private buildNode(a: number, b: number, level: number): number {
    const { dims: D, bits, keys, sy } = this;
    const ns = D + 2;
    const mask = (1 << D) - 1;
    // Collapse levels where every point falls in the same child: the smaller cell is still a bound.
    // Keys are sorted, so the first and last key's common prefix is the whole range's.
    if (b - a > 1) {
      const common = Math.floor((Math.clz32(keys[a] ^ keys[b - 1]) - (32 - bits * D)) / D);
      if (common > level) level = Math.min(bits, common);
    }
    const id = this.alloc();
    const o = id * ns;
    const width = this.side / 2 ** level;
    if (b - a === 1) {
      for (let c = 0; c < D; c++) this.node[o + c] = sy[a * D + c];
      this.node[o + D] = 1;
      this.node[o + D + 1] = 0;
      this.next[id] = id + 1;
      return id;
    }
    // Centre-of-mass sums for up to three coordinates (no per-node allocation).
    let c0 = 0;
    let c1 = 0;
    let c2 = 0;
    if (level >= bits) {
      // Points closer than the finest cell: one child node per point, so each is seen exactly.
      for (let p = a; p < b; p++) {
        const leaf = this.alloc();
        const lo2 = leaf * ns;
        for (let c = 0; c < D; c++) this.node[lo2 + c] = sy[p * D + c];
        c0 += sy[p * D];
        if (D > 1) c1 += sy[p * D + 1];
        if (D > 2) c2 += sy[p * D + 2];
        this.node[lo2 + D] = 1;
        this.node[lo2 + D + 1] = 0;
        this.next[leaf] = leaf + 1;
        for (let r = a; r < b; r++) {
          if (r === p) continue;
          let same = true;
          for (let c = 0; c < D; c++) if (sy[r * D + c] !== sy[p * D + c]) same = false;
          if (same) this.duplicates++;
        }
      }
    } else {
      let s = a;
      while (s < b) {
        const code = childCode(keys[s], level, bits, D, mask);
        // The child's run ends at the first key with a larger child code (binary search).
        let lo2 = s + 1;
        let hi2 = b;
        while (lo2 < hi2) {
          const mid = (lo2 + hi2) >> 1;
          if (childCode(keys[mid], level, bits, D, mask) === code) lo2 = mid + 1;
          else hi2 = mid;
        }
        const e = lo2;
        const ch = this.buildNode(s, e, level + 1);
        const co = ch * ns;
        const cnt = this.node[co + D];
        c0 += this.node[co] * cnt;
        if (D > 1) c1 += this.node[co + 1] * cnt;
        if (D > 2) c2 += this.node[co + 2] * cnt;
        s = e;
      }
    }
    const cnt = b - a;
    this.node[o] = c0 / cnt;
    if (D > 1) this.node[o + 1] = c1 / cnt;
    if (D > 2) this.node[o + 2] = c2 / cnt;
    this.node[o + D] = cnt;
    this.node[o + D + 1] = width * width;
    this.next[id] = this.size;
    return id;
  }
}

/** The arrays a walk reads (and the two it writes: `neg` per point, `sumQ` per sorted point). */
export interface TreeArrays {
  node: Float64Array;
  next: Int32Array;
  size: number;
  sy: Float64Array;
  idx: Int32Array;
  neg: Float64Array;
  sumQ: Float64Array;
}

/**
 * Repulsion for the sorted points [s0, s1): neg[i] = sum_j q_ij^2 (y_i - y_j) and sumQ[s] =
 * sum_{j != i} q_ij, from cells accepted when width^2 < theta2 * distance^2 (single points have
 * width 0 and are always taken exactly).
 *
 * 2-D: groups of 4 consecutive sorted points share one walk; a cell is accepted for the group
 * when width^2 < theta2 * (distance from its centre of mass to the group's bounding box)^2,
 * which implies the per-point criterion for every member (never less accurate). The
 * accept/open branch, badly predicted, is paid once per group, the members' sums stay in
 * registers, and one division serves two kernels. A point meets its own leaf once (q = 1, no
 * force); that 1 is taken off its q-sum. Exact duplicates count q = 1 each, as in exact t-SNE.
 * Other dims: one walk per point, skipping distance 0 (duplicates are added to Z by the caller).
 *
 * Self-contained on purpose (no outer references): worker threads run its source text.
 */
export function walkRange(
  node: Float64Array,
  next: Int32Array,
  size: number,
  sy: Float64Array,
  idx: Int32Array,
  neg: Float64Array,
  sumQ: Float64Array,
  s0: number,
  s1: number,
  theta2: number,
  D: number,
): void {
  if (D === 2) {
    for (let g0 = s0; g0 < s1; g0 += 4) {
      const m = Math.min(4, s1 - g0);
      // Short groups repeat their last point; the copies are computed and dropped.
      const p0 = 2 * g0;
      const p1 = 2 * (g0 + Math.min(1, m - 1));
      const p2 = 2 * (g0 + Math.min(2, m - 1));
      const p3 = 2 * (g0 + Math.min(3, m - 1));
      const x0 = sy[p0];
      const y0 = sy[p0 + 1];
      const x1 = sy[p1];
      const y1 = sy[p1 + 1];
      const x2 = sy[p2];
      const y2 = sy[p2 + 1];
      const x3 = sy[p3];
      const y3 = sy[p3 + 1];
      const bx0 = Math.min(x0, x1, x2, x3);
      const bx1 = Math.max(x0, x1, x2, x3);
      const by0 = Math.min(y0, y1, y2, y3);
      const by1 = Math.max(y0, y1, y2, y3);
      let fx0 = 0;
      let fy0 = 0;
      let q0 = 0;
      let fx1 = 0;
      let fy1 = 0;
      let q1 = 0;
      let fx2 = 0;
      let fy2 = 0;
      let q2 = 0;
      let fx3 = 0;
      let fy3 = 0;
      let q3 = 0;
      let id = 0;
      while (id < size) {
        const o = id << 2;
        const cx = node[o];
        const cy = node[o + 1];
        const w2 = node[o + 3];
        const ex = cx < bx0 ? bx0 - cx : cx > bx1 ? cx - bx1 : 0;
        const ey = cy < by0 ? by0 - cy : cy > by1 ? cy - by1 : 0;
        if (w2 < theta2 * (ex * ex + ey * ey) || w2 === 0) {
          const cnt = node[o + 2];
          const dx0 = x0 - cx;
          const dy0 = y0 - cy;
          const dx1 = x1 - cx;
          const dy1 = y1 - cy;
          const dx2 = x2 - cx;
          const dy2 = y2 - cy;
          const dx3 = x3 - cx;
          const dy3 = y3 - cy;
          const a0 = 1 + dx0 * dx0 + dy0 * dy0;
          const a1 = 1 + dx1 * dx1 + dy1 * dy1;
          const a2 = 1 + dx2 * dx2 + dy2 * dy2;
          const a3 = 1 + dx3 * dx3 + dy3 * dy3;
          // One division serves two kernels: 1/a0 = a1 / (a0 a1). Division is the slow operation here.
          const r01 = 1 / (a0 * a1);
          const r23 = 1 / (a2 * a3);
          const k0 = a1 * r01;
          const k1 = a0 * r01;
          const k2 = a3 * r23;
          const k3 = a2 * r23;
          const c0 = cnt * k0;
          const c1 = cnt * k1;
          const c2 = cnt * k2;
          const c3 = cnt * k3;
          q0 += c0;
          q1 += c1;
          q2 += c2;
          q3 += c3;
          const m0 = c0 * k0;
          const m1 = c1 * k1;
          const m2 = c2 * k2;
          const m3 = c3 * k3;
          fx0 += m0 * dx0;
          fy0 += m0 * dy0;
          fx1 += m1 * dx1;
          fy1 += m1 * dy1;
          fx2 += m2 * dx2;
          fy2 += m2 * dy2;
          fx3 += m3 * dx3;
          fy3 += m3 * dy3;
          id = next[id];
        } else {
          id++;
        }
      }
      let i = idx[g0];
      neg[2 * i] = fx0;
      neg[2 * i + 1] = fy0;
      sumQ[g0] = q0 - 1;
      if (m > 1) {
        i = idx[g0 + 1];
        neg[2 * i] = fx1;
        neg[2 * i + 1] = fy1;
        sumQ[g0 + 1] = q1 - 1;
      }
      if (m > 2) {
        i = idx[g0 + 2];
        neg[2 * i] = fx2;
        neg[2 * i + 1] = fy2;
        sumQ[g0 + 2] = q2 - 1;
      }
      if (m > 3) {
        i = idx[g0 + 3];
        neg[2 * i] = fx3;
        neg[2 * i + 1] = fy3;
        sumQ[g0 + 3] = q3 - 1;
      }
    }
    return;
  }
  const ns = D + 2;
  const f = [0, 0, 0];
  for (let s = s0; s < s1; s++) {
    f[0] = f[1] = f[2] = 0;
    let sq = 0;
    let id = 0;
    while (id < size) {
      const o = id * ns;
      let d2 = 0;
      for (let c = 0; c < D; c++) {
        const v = sy[s * D + c] - node[o + c];
        d2 += v * v;
      }
      if (node[o + D + 1] < theta2 * d2) {
        const q = 1 / (1 + d2);
        const cq = node[o + D] * q;
        sq += cq;
        for (let c = 0; c < D; c++) f[c] += cq * q * (sy[s * D + c] - node[o + c]);
        id = next[id];
      } else {
        id++;
      }
    }
    const i = idx[s];
    for (let c = 0; c < D; c++) neg[i * D + c] = f[c];
    sumQ[s] = sq;
  }
}

/** Worker threads sharing the repulsion walk (see tsne-threads.ts). */
export interface ForcePool {
  /**
   * Wakes the workers. With the tree (JS path) they walk it; with null (SIMD path) they start on
   * the attraction and wait for `finish` to publish the tree.
   */
  start(tree: TreeArrays | null, theta2: number): void;
  /** Walks chunks on this thread too until none are left, then waits for the workers. */
  finish(tree: TreeArrays, theta2: number): void;
}

function childCode(key: number, level: number, bits: number, D: number, mask: number): number {
  return (key >>> ((bits - 1 - level) * D)) & mask;
}

/** Spreads the low bits of q so that consecutive bits land `D` apart (Morton interleave). */
function spread(q: number, D: number): number {
  if (D === 1) return q >>> 0;
  if (D === 2) {
    let x = q & 0xffff;
    x = (x | (x << 8)) & 0x00ff00ff;
    x = (x | (x << 4)) & 0x0f0f0f0f;
    x = (x | (x << 2)) & 0x33333333;
    x = (x | (x << 1)) & 0x55555555;
    return x;
  }
  let x = q & 0x3ff;
  x = (x | (x << 16)) & 0x030000ff;
  x = (x | (x << 8)) & 0x0300f00f;
  x = (x | (x << 4)) & 0x030c30c3;
  x = (x | (x << 2)) & 0x09249249;
  return x;
}

/**
 * Attractive forces sum_j p_ij q_ij (y_i - y_j), each stored pair serving both directions. Row
 * i's share is summed in registers; only the partner's share is scattered. Only rows [from, to)
 * (and their partners): two threads can take one share each into their own `out`.
 */
export function attraction(
  y: Float64Array,
  P: SparseP,
  dims: number,
  out: Float64Array,
  from = 0,
  to = P.n,
): void {
  out.fill(0);
  const { rowPtr, cols, vals } = P;
  if (dims === 2) {
    for (let i = from; i < to; i++) {
      const xi = y[2 * i];
      const yi = y[2 * i + 1];
      let ax = 0;
      let ay = 0;
      const end = rowPtr[i + 1];
      for (let t = rowPtr[i]; t < end; t++) {
        const j = cols[t];
        const dx = xi - y[2 * j];
        const dy = yi - y[2 * j + 1];
        const f = vals[t] / (1 + dx * dx + dy * dy);
        const fx = f * dx;
        const fy = f * dy;
        ax += fx;
        ay += fy;
        out[2 * j] -= fx;
        out[2 * j + 1] -= fy;
      }
      out[2 * i] += ax;
      out[2 * i + 1] += ay;
    }
    return;
  }
  for (let i = from; i < to; i++) {
    for (let t = rowPtr[i]; t < rowPtr[i + 1]; t++) {
      const j = cols[t];
      let d2 = 0;
      for (let c = 0; c < dims; c++) {
        const v = y[i * dims + c] - y[j * dims + c];
        d2 += v * v;
      }
      const f = vals[t] / (1 + d2);
      for (let c = 0; c < dims; c++) {
        const v = f * (y[i * dims + c] - y[j * dims + c]);
        out[i * dims + c] += v;
        out[j * dims + c] -= v;
      }
    }
  }
}

/** KL(P || Q) over the sparse P, with Q_ij = q_ij / Z from the last gradient. */
export function sparseKl(y: Float64Array, P: SparseP, dims: number, Z: number): number {
  const { rowPtr, cols, vals, n } = P;
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let t = rowPtr[i]; t < rowPtr[i + 1]; t++) {
      const p = vals[t];
      if (p <= 0) continue;
      let d2 = 0;
      for (let c = 0; c < dims; c++) {
        const v = y[i * dims + c] - y[cols[t] * dims + c];
        d2 += v * v;
      }
      const q = 1 / (1 + d2) / Z;
      kl += 2 * p * Math.log(Math.max(p, 1e-300) / Math.max(q, 1e-300));
    }
  }
  return kl;
}

/**
 * Exact O(N^2) gradient from a dense P (zero diagonal); returns KL(P || Q) when `withKl` (it
 * costs a log per pair), else NaN. The reference the Barnes–Hut path is tested against.
 */
export function exactGradient(
  y: Float64Array,
  P: Float64Array,
  n: number,
  dims: number,
  exaggeration: number,
  grad: Float64Array,
  qbuf: Float64Array,
  withKl = true,
): number {
  let Z = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d2 = 0;
      for (let c = 0; c < dims; c++) {
        const v = y[i * dims + c] - y[j * dims + c];
        d2 += v * v;
      }
      const q = 1 / (1 + d2);
      qbuf[i * n + j] = q;
      Z += 2 * q;
    }
  }
  grad.fill(0);
  let kl = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const q = qbuf[i * n + j];
      const p = P[i * n + j];
      const mult = (exaggeration * p - q / Z) * q;
      for (let c = 0; c < dims; c++) {
        const v = mult * (y[i * dims + c] - y[j * dims + c]);
        grad[i * dims + c] += 4 * v;
        grad[j * dims + c] -= 4 * v;
      }
      if (withKl && p > 0) kl += 2 * p * Math.log(p / Math.max(q / Z, 1e-300));
    }
  }
  return withKl ? kl : NaN;
}
