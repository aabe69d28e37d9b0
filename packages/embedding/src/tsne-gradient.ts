import type { SparseP } from './affinities.js';

/**
 * t-SNE gradients on flat Float64Array embeddings (`y[i * dims + c]`).
 *
 * Barnes–Hut (van der Maaten 2014): repulsion from a space-partitioning tree whose cells count as
 * one point at their centre of mass when `width < theta * distance`; attraction over the sparse
 * P. The tree lives in flat typed arrays, is rebuilt each iteration in place and laid out depth
 * first for a stackless walk, so an iteration allocates nothing.
 */
export class BarnesHut {
  private readonly n: number;
  private readonly dims: number;
  private readonly fan: number;
  /** Per node: centre of mass (dims), point count, squared cell width. */
  private node: Float64Array;
  /** Per node: first of its `fan` children, -1 for a leaf. */
  private child: Int32Array;
  /** Per node: cell centre (dims) and half width, used while building. */
  private box: Float64Array;
  /** Per node: the first point stored in a leaf, -1 when empty. */
  private point: Int32Array;
  private size = 0;
  /**
   * The tree again in depth-first order without empty cells, for the walk: per node centre of
   * mass (dims), count, squared width (-1 for a leaf); `next` is the node after its subtree.
   * Walking it is a forward scan (open a cell: step to i + 1; accept it: jump to next[i]),
   * so memory is read in order and no stack is needed.
   */
  private flat: Float64Array;
  private next: Int32Array;
  private sub: Int32Array;
  private flatSize = 0;
  /** Points in leaf order, so consecutive walks touch the same cells. */
  private readonly order: Int32Array;
  private readonly seen: Uint8Array;
  private readonly stack = new Int32Array(4096);
  private readonly ctr: Float64Array;
  private readonly neg: Float64Array;
  private readonly pos: Float64Array;

  constructor(n: number, dims: number) {
    this.n = n;
    this.dims = dims;
    this.fan = 1 << dims;
    const cap = 4 * n + 16;
    this.node = new Float64Array(cap * (dims + 2));
    this.child = new Int32Array(cap);
    this.box = new Float64Array(cap * (dims + 1));
    this.point = new Int32Array(cap);
    this.neg = new Float64Array(n * dims);
    this.pos = new Float64Array(n * dims);
    this.ctr = new Float64Array(dims);
    this.flat = new Float64Array(cap * (dims + 2));
    this.next = new Int32Array(cap);
    this.sub = new Int32Array(cap);
    this.order = new Int32Array(n);
    this.seen = new Uint8Array(n);
  }

  /**
   * Writes the KL gradient (factor 4 included) into `grad`; returns Z = sum_{i != j} q_ij
   * (unnormalised Student-t kernel, Barnes–Hut estimate) for the KL report.
   */
  gradient(y: Float64Array, P: SparseP, exaggeration: number, theta: number, grad: Float64Array): number {
    this.build(y);
    this.linearize();
    const Z = this.dims === 2 ? this.repulsion2d(y, theta) : this.repulsionNd(y, theta);
    attraction(y, P, this.dims, this.pos);
    const { neg, pos } = this;
    const invZ = 1 / Z;
    for (let t = 0; t < this.n * this.dims; t++) grad[t] = 4 * (exaggeration * pos[t] - neg[t] * invZ);
    return Z;
  }

  private grow(): void {
    const cap = this.child.length * 2;
    const D = this.dims;
    const node = new Float64Array(cap * (D + 2));
    node.set(this.node);
    this.node = node;
    const child = new Int32Array(cap);
    child.set(this.child);
    this.child = child;
    const box = new Float64Array(cap * (D + 1));
    box.set(this.box);
    this.box = box;
    const point = new Int32Array(cap);
    point.set(this.point);
    this.point = point;
    this.flat = new Float64Array(cap * (D + 2));
    this.next = new Int32Array(cap);
    this.sub = new Int32Array(cap);
  }

  private linearize(): void {
    const { node, child, point, sub, flat, next, stack, order, seen, fan } = this;
    const D = this.dims;
    const ns = D + 2;
    // Subtree sizes over non-empty cells; children always have larger ids than their parent.
    for (let id = this.size - 1; id >= 0; id--) {
      if (node[id * ns + D] === 0) {
        sub[id] = 0;
        continue;
      }
      let s = 1;
      const f = child[id];
      if (f >= 0) for (let q = 0; q < fan; q++) s += sub[f + q];
      sub[id] = s;
    }
    seen.fill(0);
    let cur = 0;
    let placed = 0;
    let sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
      const id = stack[--sp];
      const p = cur++;
      const o = p * ns;
      const src = id * ns;
      for (let c = 0; c <= D; c++) flat[o + c] = node[src + c];
      next[p] = p + sub[id];
      const f = child[id];
      if (f < 0) {
        flat[o + D + 1] = -1;
        const pt = point[id];
        if (pt >= 0 && !seen[pt]) {
          seen[pt] = 1;
          order[placed++] = pt;
        }
      } else {
        flat[o + D + 1] = node[src + D + 1];
        for (let q = fan - 1; q >= 0; q--) if (sub[f + q] > 0) stack[sp++] = f + q;
      }
    }
    this.flatSize = cur;
    // Duplicates share a leaf that names only one of them: append the rest.
    if (placed < this.n) for (let i = 0; i < this.n; i++) if (!seen[i]) order[placed++] = i;
  }

  private newNode(centre: ArrayLike<number>, cOff: number, half: number): number {
    if (this.size >= this.child.length) this.grow();
    const id = this.size++;
    const D = this.dims;
    const ns = D + 2;
    for (let c = 0; c < ns; c++) this.node[id * ns + c] = 0;
    for (let c = 0; c < D; c++) this.box[id * (D + 1) + c] = centre[cOff + c];
    this.box[id * (D + 1) + D] = half;
    this.node[id * ns + D + 1] = 4 * half * half;
    this.child[id] = -1;
    this.point[id] = -1;
    return id;
  }

  private build(y: Float64Array): void {
    const D = this.dims;
    const n = this.n;
    const lo = new Float64Array(D).fill(Infinity);
    const hi = new Float64Array(D).fill(-Infinity);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < D; c++) {
        const v = y[i * D + c];
        if (v < lo[c]) lo[c] = v;
        if (v > hi[c]) hi[c] = v;
      }
    }
    let half = 0;
    const centre = new Float64Array(D);
    for (let c = 0; c < D; c++) {
      centre[c] = (lo[c] + hi[c]) / 2;
      half = Math.max(half, (hi[c] - lo[c]) / 2);
    }
    // A little slack so points on the boundary fall inside.
    half = half * (1 + 1e-5) + 1e-12;
    this.size = 0;
    this.newNode(centre, 0, half);
    for (let i = 0; i < n; i++) this.insert(y, i);
    const ns = D + 2;
    for (let id = 0; id < this.size; id++) {
      const cnt = this.node[id * ns + D];
      if (cnt > 0) for (let c = 0; c < D; c++) this.node[id * ns + c] /= cnt;
    }
  }

  private insert(y: Float64Array, i: number): void {
    const D = this.dims;
    const ns = D + 2;
    const bs = D + 1;
    let id = 0;
    for (let depth = 0; ; depth++) {
      const o = id * ns;
      if (this.child[id] < 0) {
        if (this.node[o + D] === 0) {
          this.point[id] = i;
          for (let c = 0; c < D; c++) this.node[o + c] = y[i * D + c];
          this.node[o + D] = 1;
          return;
        }
        const p = this.point[id];
        let same = true;
        for (let c = 0; c < D; c++) if (y[p * D + c] !== y[i * D + c]) same = false;
        if (same || depth >= 50) {
          // Duplicates (or points closer than 2^-50 of the extent) share a leaf.
          for (let c = 0; c < D; c++) this.node[o + c] += y[i * D + c];
          this.node[o + D] += 1;
          return;
        }
        // Split: make the children, then move the resident point(s) down one level.
        const first = this.size;
        const half = this.box[id * bs + D] / 2;
        const ctr = this.ctr;
        for (let q = 0; q < this.fan; q++) {
          for (let c = 0; c < D; c++) ctr[c] = this.box[id * bs + c] + ((q >> c) & 1 ? half : -half);
          this.newNode(ctr, 0, half);
        }
        this.child[id] = first;
        const o2 = id * ns;
        const q = this.quadrant(y, p, id);
        const target = (first + q) * ns;
        for (let c = 0; c <= D; c++) this.node[target + c] = this.node[o2 + c];
        this.point[first + q] = p;
        this.point[id] = -1;
      }
      const o3 = id * ns;
      for (let c = 0; c < D; c++) this.node[o3 + c] += y[i * D + c];
      this.node[o3 + D] += 1;
      id = this.child[id] + this.quadrant(y, i, id);
    }
  }

  private quadrant(y: Float64Array, i: number, id: number): number {
    const D = this.dims;
    let q = 0;
    for (let c = 0; c < D; c++) if (y[i * D + c] > this.box[id * (D + 1) + c]) q |= 1 << c;
    return q;
  }

  /** Repulsion for 2-D embeddings: the hot loop, written out for two coordinates. */
  private repulsion2d(y: Float64Array, theta: number): number {
    const { flat, next, order, neg, n, flatSize } = this;
    const theta2 = theta * theta;
    let Z = 0;
    for (let r = 0; r < n; r++) {
      const i = order[r];
      const xi = y[2 * i];
      const yi = y[2 * i + 1];
      let fx = 0;
      let fy = 0;
      let sumQ = 0;
      let id = 0;
      while (id < flatSize) {
        const o = id << 2;
        const dx = xi - flat[o];
        const dy = yi - flat[o + 1];
        const d2 = dx * dx + dy * dy;
        const w2 = flat[o + 3];
        if (d2 > 0) {
          if (w2 < theta2 * d2) {
            const q = 1 / (1 + d2);
            const cq = flat[o + 2] * q;
            sumQ += cq;
            const m = cq * q;
            fx += m * dx;
            fy += m * dy;
            id = next[id];
          } else {
            id++;
          }
        } else if (w2 < 0) {
          // The leaf holding point i: its duplicates (if any) sit at distance 0.
          sumQ += flat[o + 2] - 1;
          id = next[id];
        } else {
          id++;
        }
      }
      neg[2 * i] = fx;
      neg[2 * i + 1] = fy;
      Z += sumQ;
    }
    return Z;
  }

  private repulsionNd(y: Float64Array, theta: number): number {
    const { flat, next, order, neg, n, flatSize, dims: D } = this;
    const ns = D + 2;
    const theta2 = theta * theta;
    const f = new Float64Array(D);
    let Z = 0;
    for (let r = 0; r < n; r++) {
      const i = order[r];
      f.fill(0);
      let sumQ = 0;
      let id = 0;
      while (id < flatSize) {
        const o = id * ns;
        let d2 = 0;
        for (let c = 0; c < D; c++) {
          const v = y[i * D + c] - flat[o + c];
          d2 += v * v;
        }
        const w2 = flat[o + D + 1];
        if (d2 > 0) {
          if (w2 < theta2 * d2) {
            const q = 1 / (1 + d2);
            const m = flat[o + D] * q;
            sumQ += m;
            for (let c = 0; c < D; c++) f[c] += m * q * (y[i * D + c] - flat[o + c]);
            id = next[id];
          } else {
            id++;
          }
        } else if (w2 < 0) {
          sumQ += flat[o + D] - 1;
          id = next[id];
        } else {
          id++;
        }
      }
      for (let c = 0; c < D; c++) neg[i * D + c] = f[c];
      Z += sumQ;
    }
    return Z;
  }
}

/** Attractive forces sum_j p_ij q_ij (y_i - y_j) over the stored pairs, both directions at once. */
export function attraction(y: Float64Array, P: SparseP, dims: number, out: Float64Array): void {
  out.fill(0);
  const { rows, cols, vals } = P;
  const m = vals.length;
  if (dims === 2) {
    for (let t = 0; t < m; t++) {
      const i = rows[t];
      const j = cols[t];
      const dx = y[2 * i] - y[2 * j];
      const dy = y[2 * i + 1] - y[2 * j + 1];
      const f = vals[t] / (1 + dx * dx + dy * dy);
      out[2 * i] += f * dx;
      out[2 * i + 1] += f * dy;
      out[2 * j] -= f * dx;
      out[2 * j + 1] -= f * dy;
    }
    return;
  }
  for (let t = 0; t < m; t++) {
    const i = rows[t];
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

/** KL(P || Q) over the sparse P, with Q_ij = q_ij / Z from the last gradient. */
export function sparseKl(y: Float64Array, P: SparseP, dims: number, Z: number): number {
  const { rows, cols, vals } = P;
  let kl = 0;
  for (let t = 0; t < vals.length; t++) {
    const p = vals[t];
    if (p <= 0) continue;
    let d2 = 0;
    for (let c = 0; c < dims; c++) {
      const v = y[rows[t] * dims + c] - y[cols[t] * dims + c];
      d2 += v * v;
    }
    const q = 1 / (1 + d2) / Z;
    kl += 2 * p * Math.log(Math.max(p, 1e-300) / Math.max(q, 1e-300));
  }
  return kl;
}

/**
 * Exact O(N^2) gradient from a dense P (zero diagonal); returns KL(P || Q). The reference the
 * Barnes–Hut path is tested against.
 */
export function exactGradient(
  y: Float64Array,
  P: Float64Array,
  n: number,
  dims: number,
  exaggeration: number,
  grad: Float64Array,
  qbuf: Float64Array,
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
      if (p > 0) kl += 2 * p * Math.log(p / Math.max(q / Z, 1e-300));
    }
  }
  return kl;
}
