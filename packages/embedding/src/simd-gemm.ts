import { claimChunk, CHUNK_BITS, roundTag } from './chunks.js';
import {
  buildWasmModule as buildModule,
  hasWasmSimd,
  type WasmCode as Code,
  WasmFunction as Fn,
  type WasmFuncDef as FuncDef,
  wasmOp as op,
  wasmTypes as T,
} from '@cnnviz/core';

/**
 * Float32 matrix products in WebAssembly SIMD, for the CPU-bound products of kNN and PCA.
 *
 * Operands are packed first (as BLAS libraries do): A in micro-panels of 4 rows, k-major
 * (`A[(ib * K + k) * 4 + r]`), B in panels of 8 columns (`B[(p * K + k) * 8 + c]`). The 4x8 micro-kernel keeps 8 accumulators in registers and
 * reads one splatted A value and two B vectors per step; on one core of the 2-core test
 * machine it runs ~2x faster than TF.js WASM's (XNNPACK) matMul, and, unlike the backend, can
 * run on several worker threads at once.
 */

export const MR = 4;
export const NR = 8;

/**
 * Loop nest of `gemm(ap, bp, cp, ldcBytes, mBlocks, nPanels, ks, aStride, bStride, accumulate)`:
 * C (+)= A B over `ks` inner steps; strides in bytes between A micro-panels and B panels.
 */
function gemmKernel(): FuncDef {
  const [ap, bp, cp, ldc, mBlocks, nPanels, ks, aStride, bStride, accumulate] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ];
  const [ib, p, a, b, k, c] = [10, 11, 12, 13, 14, 15];
  const acc = [16, 17, 18, 19, 20, 21, 22, 23];
  const [b0, b1, av] = [24, 25, 26];
  const body: Code = [];
  const emit = (...codes: Code[]) => {
    for (const x of codes) for (const y of x) body.push(y);
  };
  emit(op.i32(0), op.set(ib));
  emit(op.block, op.loop);
  emit(op.get(ib), op.get(mBlocks), op.i32GeS, op.brIf(1));
  emit(op.i32(0), op.set(p));
  emit(op.block, op.loop);
  emit(op.get(p), op.get(nPanels), op.i32GeS, op.brIf(1));
  emit(op.get(cp), op.get(ib), op.i32(2), op.i32Shl, op.get(ldc), op.i32Mul, op.i32Add);
  emit(op.get(p), op.i32(5), op.i32Shl, op.i32Add, op.set(c));
  emit(op.get(accumulate), op.if_);
  for (let r = 0; r < 4; r++) {
    emit(op.get(c), op.get(ldc), op.i32(r), op.i32Mul, op.i32Add, op.tee(b));
    emit(op.v128Load(0), op.set(acc[2 * r]), op.get(b), op.v128Load(16), op.set(acc[2 * r + 1]));
  }
  emit(op.else_);
  for (const r of acc) emit(op.v128Zero, op.set(r));
  emit(op.end);
  emit(op.get(ap), op.get(ib), op.get(aStride), op.i32Mul, op.i32Add, op.set(a));
  emit(op.get(bp), op.get(p), op.get(bStride), op.i32Mul, op.i32Add, op.set(b));
  emit(op.get(ks), op.set(k));
  // One k step per iteration: unrolled bodies make V8 hoist every load address into a register
  // and spill accumulators (measured 3x slower); this one allocates all 16 xmm registers cleanly.
  emit(op.loop);
  emit(op.get(b), op.v128Load(0), op.set(b0));
  emit(op.get(b), op.v128Load(16), op.set(b1));
  for (let r = 0; r < 4; r++) {
    emit(op.get(a), op.v128Load32Splat(r * 4), op.set(av));
    emit(op.get(acc[2 * r]), op.get(av), op.get(b0), op.f32x4Mul, op.f32x4Add, op.set(acc[2 * r]));
    emit(op.get(acc[2 * r + 1]), op.get(av), op.get(b1), op.f32x4Mul, op.f32x4Add, op.set(acc[2 * r + 1]));
  }
  emit(op.get(a), op.i32(16), op.i32Add, op.set(a));
  emit(op.get(b), op.i32(32), op.i32Add, op.set(b));
  emit(op.get(k), op.i32(1), op.i32Sub, op.tee(k), op.brIf(0));
  emit(op.end);
  // C rows ib*4 .. ib*4+3, columns p*8 .. p*8+7.
  for (let r = 0; r < 4; r++) {
    emit(op.get(c), op.get(acc[2 * r]), op.v128Store(0));
    emit(op.get(c), op.get(acc[2 * r + 1]), op.v128Store(16));
    if (r < 3) emit(op.get(c), op.get(ldc), op.i32Add, op.set(c));
  }
  emit(op.get(p), op.i32(1), op.i32Add, op.set(p), op.br(0));
  emit(op.end, op.end);
  emit(op.get(ib), op.i32(1), op.i32Add, op.set(ib), op.br(0));
  emit(op.end, op.end);
  return {
    name: 'gemm',
    params: new Array<number>(10).fill(T.i32),
    results: [],
    locals: [...new Array<number>(6).fill(T.i32), ...new Array<number>(11).fill(T.v128)],
    body,
  };
}

/**
 * kNN's candidate filter: `filter(cp, ldc, rows, cols2, a, b, thrRow, thrCol, alpha, both, out)`
 * scans a tile of float32 scores S two columns at a time, v = (a[r] + b[c]) + alpha S[r][c] in
 * float64 (the JS scan's exact expression), and writes r * ldc + c to `out` for every pair of
 * columns where some v <= thrRow[r] (or, with `both`, <= thrCol[c]); returns how many. Past
 * thresholds only fall, so a snapshot keeps every score the exact JS check could accept.
 */
function filterKernel(): FuncDef {
  const i32 = T.i32;
  const f = new Fn('filter', [
    ['cp', i32],
    ['ldc', i32],
    ['rows', i32],
    ['cols2', i32],
    ['a', i32],
    ['b', i32],
    ['thrRow', i32],
    ['thrCol', i32],
    ['alpha', T.f64],
    ['both', i32],
    ['out', i32],
  ]);
  for (const n of ['r', 'c', 'row', 'count']) f.local(n, i32);
  for (const n of ['A', 'TR', 'AL', 'V', 'M']) f.local(n, T.v128);
  const { get, set, emit } = { get: f.get.bind(f), set: f.set.bind(f), emit: f.emit.bind(f) };
  emit(get('alpha'), op.f64x2Splat, set('AL'));
  emit(op.i32(0), set('count'), op.i32(0), set('r'));
  emit(op.block, op.loop);
  emit(get('r'), get('rows'), op.i32GeS, op.brIf(1));
  emit(get('r'), op.i32(3), op.i32Shl, get('a'), op.i32Add, op.v128Load64Splat(0), set('A'));
  emit(get('r'), op.i32(3), op.i32Shl, get('thrRow'), op.i32Add, op.v128Load64Splat(0), set('TR'));
  // row = cp + 4 r ldc
  emit(get('r'), get('ldc'), op.i32Mul, op.i32(2), op.i32Shl, get('cp'), op.i32Add, set('row'));
  emit(op.i32(0), set('c'));
  emit(op.block, op.loop);
  emit(get('c'), get('cols2'), op.i32GeS, op.brIf(1));
  // V = (a + b[c..c+1]) + alpha * promote(S[r][c..c+1])
  emit(get('A'), get('c'), op.i32(3), op.i32Shl, get('b'), op.i32Add, op.v128Load(0), op.f64x2Add);
  emit(
    get('AL'),
    get('c'),
    op.i32(2),
    op.i32Shl,
    get('row'),
    op.i32Add,
    op.v128Load64Zero(0),
    op.f64x2PromoteLow,
  );
  emit(op.f64x2Mul, op.f64x2Add, set('V'));
  emit(get('V'), get('TR'), op.f64x2Le, set('M'));
  emit(get('both'), op.if_);
  emit(
    get('M'),
    get('V'),
    get('c'),
    op.i32(3),
    op.i32Shl,
    get('thrCol'),
    op.i32Add,
    op.v128Load(0),
    op.f64x2Le,
  );
  emit(op.v128Or, set('M'), op.end);
  emit(get('M'), op.v128AnyTrue, op.if_);
  emit(get('count'), op.i32(2), op.i32Shl, get('out'), op.i32Add);
  emit(get('r'), get('ldc'), op.i32Mul, get('c'), op.i32Add, op.i32Store(0));
  emit(get('count'), op.i32(1), op.i32Add, set('count'));
  emit(op.end);
  emit(get('c'), op.i32(2), op.i32Add, set('c'), op.br(0));
  emit(op.end, op.end);
  emit(get('r'), op.i32(1), op.i32Add, set('r'), op.br(0));
  emit(op.end, op.end);
  emit(get('count'));
  const def = f.def();
  return { ...def, results: [i32] };
}

const compiled = new Map<boolean, WebAssembly.Module | null>();

/**
 * The compiled kernel module for a private or a shared memory (cloneable to worker threads),
 * or null without WebAssembly SIMD.
 */
export function gemmModule(shared = false): WebAssembly.Module | null {
  if (!compiled.has(shared)) {
    let mod: WebAssembly.Module | null = null;
    try {
      if (hasWasmSimd())
        mod = new WebAssembly.Module(
          buildModule([gemmKernel(), filterKernel()], { shared, maxPages: 65536 }),
        );
    } catch {
      mod = null;
    }
    compiled.set(shared, mod);
  }
  return compiled.get(shared)!;
}

// Control words of the worker pool (Int32Array) and its parameters (Float64Array).
const GEN = 0;
const STOP = 1;
const NEXT = 2;
const DONE = 3;
const ROW_BLOCKS = 16;

/**
 * Worker program: wait for a product, claim chunks of A's row blocks (tagged with the product's
 * round, see chunks.ts), run the kernel on them (all threads share one wasm memory), count them
 * done. The caller waits for done chunks, not for workers, so a late worker costs nothing.
 */
const POOL_SOURCE = (): string => `
const { workerData, parentPort } = require('node:worker_threads');
var __name = (f) => f;
const gemmBlocked = (${gemmBlocked.toString()});
const claimChunk = (${claimChunk.toString()});
const { ctrl, params, module, memory } = workerData;
const fn = new WebAssembly.Instance(module, { env: { mem: memory } }).exports.gemm;
let gen = Atomics.load(ctrl, ${GEN});
parentPort.postMessage('ready');
for (;;) {
  Atomics.wait(ctrl, ${GEN}, gen);
  gen = Atomics.load(ctrl, ${GEN});
  if (Atomics.load(ctrl, ${STOP}) === 1) break;
  const [ap, bp, cp, ldc, mBlocks, nPanels, kp] = params;
  const chunks = Math.ceil(mBlocks / ${ROW_BLOCKS});
  for (;;) {
    const t = claimChunk(ctrl, ${NEXT}, gen & 0x7ff, chunks);
    if (t < 0) break;
    const b0 = t * ${ROW_BLOCKS};
    gemmBlocked(fn, ap + b0 * kp * 16, bp, cp + b0 * 16 * ldc, ldc, Math.min(${ROW_BLOCKS}, mBlocks - b0), nPanels, kp);
    if (Atomics.add(ctrl, ${DONE}, 1) + 1 === chunks) Atomics.notify(ctrl, ${DONE});
  }
}
`;

interface Pool {
  workers: Array<{ terminate(): Promise<number> }>;
  ctrl: Int32Array;
  params: Float64Array;
}

/**
 * One instance of the kernel with its own memory and a bump allocator; with `threads` > 1
 * (Node), a shared memory and threads - 1 workers that split each large product by rows.
 */
export class SimdGemm {
  readonly memory: WebAssembly.Memory;
  private readonly gemmFn: (...args: number[]) => void;
  private top = 0;
  private pool?: Pool;

  constructor(module: WebAssembly.Module, memory?: WebAssembly.Memory) {
    this.memory = memory ?? new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    const instance = new WebAssembly.Instance(module, { env: { mem: this.memory } });
    this.gemmFn = instance.exports.gemm as (...args: number[]) => void;
  }

  /** A kernel on `threads` threads (Node worker_threads; one thread elsewhere or on failure). */
  static async create(threads: number): Promise<SimdGemm | null> {
    const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
    const shared = threads > 1 && isNode ? gemmModule(true) : null;
    if (shared === null) {
      const mod = gemmModule(false);
      return mod ? new SimdGemm(mod) : null;
    }
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
    const g = new SimdGemm(shared, memory);
    const { Worker } = await import('node:worker_threads');
    const ctrl = new Int32Array(new SharedArrayBuffer(16));
    const params = new Float64Array(new SharedArrayBuffer(8 * 7));
    const workers: InstanceType<typeof Worker>[] = [];
    try {
      for (let w = 1; w < threads; w++) {
        workers.push(
          new Worker(POOL_SOURCE(), { eval: true, workerData: { ctrl, params, module: shared, memory } }),
        );
      }
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once('message', () => resolve());
              w.once('error', reject);
            }),
        ),
      );
    } catch {
      // No workers (e.g. a sandbox without worker_threads): the one thread still computes.
      await Promise.all(workers.map((w) => w.terminate()));
      return g;
    }
    g.pool = { workers, ctrl, params };
    return g;
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    const p = this.pool;
    if (!p) return;
    this.pool = undefined;
    Atomics.store(p.ctrl, STOP, 1);
    Atomics.add(p.ctrl, GEN, 1);
    Atomics.notify(p.ctrl, GEN);
    await Promise.all(p.workers.map((w) => w.terminate()));
  }

  /** Reserves `floats` float32 slots (16-byte aligned); returns the byte offset. */
  alloc(floats: number): number {
    const at = this.top;
    this.top += Math.ceil((floats * 4) / 16) * 16;
    const need = Math.ceil(this.top / 65536) - this.memory.buffer.byteLength / 65536;
    if (need > 0) this.memory.grow(need);
    return at;
  }

  /** Frees everything allocated so far, or everything after `mark` (a value `mark()` returned). */
  reset(mark = 0): void {
    this.top = mark;
  }

  mark(): number {
    return this.top;
  }

  /**
   * Allocates and packs rows of a row-major `rows x k` matrix as A (minus `shift` per column,
   * when given); returns its offset.
   */
  packedA(src: ArrayLike<number>, rows: number, k: number, shift?: Float64Array): number {
    const at = this.alloc(packedASize(rows, k));
    packA(f32(src), k, 0, rows, k, this.f32(), at >> 2, shift);
    return at;
  }

  /** Allocates and packs the transpose of a row-major `k x rows` matrix as A (minus `shift`). */
  packedAt(src: ArrayLike<number>, k: number, rows: number, shift?: Float64Array): number {
    const at = this.alloc(packedASize(rows, k));
    packAt(f32(src), k, rows, this.f32(), at >> 2, shift);
    return at;
  }

  /**
   * (packed A at `ap`: `rows x k`) times B (row-major `k x cols`), as a new row-major
   * `rows x cols` array. Scratch memory is released afterwards.
   */
  mul(ap: number, rows: number, k: number, B: ArrayLike<number>, cols: number): Float32Array {
    const m = this.mark();
    const bp = this.alloc(packedBSize(cols, k));
    const ldc = Math.ceil(cols / NR) * NR;
    const cp = this.alloc(Math.ceil(rows / MR) * MR * ldc);
    packB(f32(B), k, cols, this.f32(), bp >> 2);
    this.gemm(ap, bp, cp, ldc, Math.ceil(rows / MR), Math.ceil(cols / NR), k);
    const f = this.f32();
    const out = new Float32Array(rows * cols);
    for (let i = 0; i < rows; i++)
      out.set(f.subarray((cp >> 2) + i * ldc, (cp >> 2) + i * ldc + cols), i * cols);
    this.reset(m);
    return out;
  }

  /** `Y^T Y` for a row-major `rows x cols` Y (float32 products, float64 result). */
  gram(Y: ArrayLike<number>, rows: number, cols: number): Float64Array {
    const m = this.mark();
    const ap = this.packedAt(Y, rows, cols);
    const G = Float64Array.from(this.mul(ap, cols, rows, Y, cols));
    this.reset(m);
    // Symmetrise: both triangles come from the same sums in different order.
    for (let a = 0; a < cols; a++) {
      for (let b = a + 1; b < cols; b++) {
        const v = 0.5 * (G[a * cols + b] + G[b * cols + a]);
        G[a * cols + b] = v;
        G[b * cols + a] = v;
      }
    }
    return G;
  }

  /** A float32 view of the memory (take a new one after `alloc`, which may grow it). */
  f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  /**
   * C (rows 4 * mBlocks, columns 8 * nPanels, row stride `ldc` floats) = A B, from packed
   * operands with `kp` inner steps.
   */
  gemm(ap: number, bp: number, cp: number, ldc: number, mBlocks: number, nPanels: number, kp: number): void {
    const p = this.pool;
    if (!p || mBlocks < 2 * ROW_BLOCKS || mBlocks * nPanels * kp < 1 << 20) {
      gemmBlocked(this.gemmFn, ap, bp, cp, ldc, mBlocks, nPanels, kp);
      return;
    }
    p.params.set([ap, bp, cp, ldc, mBlocks, nPanels, kp]);
    const gen = Atomics.load(p.ctrl, GEN) + 1;
    const chunks = Math.ceil(mBlocks / ROW_BLOCKS);
    Atomics.store(p.ctrl, DONE, 0);
    Atomics.store(p.ctrl, NEXT, roundTag(gen) << CHUNK_BITS);
    // The atomic store publishes the parameters (and the packed operands) to the workers.
    Atomics.store(p.ctrl, GEN, gen);
    Atomics.notify(p.ctrl, GEN);
    for (;;) {
      const t = claimChunk(p.ctrl, NEXT, roundTag(gen), chunks);
      if (t < 0) break;
      const b0 = t * ROW_BLOCKS;
      const m = Math.min(ROW_BLOCKS, mBlocks - b0);
      gemmBlocked(this.gemmFn, ap + b0 * kp * 16, bp, cp + b0 * 16 * ldc, ldc, m, nPanels, kp);
      Atomics.add(p.ctrl, DONE, 1);
    }
    // Only chunks a worker claimed and has not finished are left to wait for.
    for (;;) {
      const done = Atomics.load(p.ctrl, DONE);
      if (done >= chunks) break;
      Atomics.wait(p.ctrl, DONE, done, 1000);
    }
  }
}

/**
 * Drives the kernel in blocks of 512 inner steps x 64 columns, so the B block stays in L2
 * while every A row streams by. Self-contained (worker threads run its source text).
 */
export function gemmBlocked(
  fn: (...args: number[]) => void,
  ap: number,
  bp: number,
  cp: number,
  ldc: number,
  mBlocks: number,
  nPanels: number,
  kp: number,
): void {
  const KC = 512;
  const NCP = 8;
  for (let k0 = 0; k0 < kp; k0 += KC) {
    const ks = Math.min(KC, kp - k0);
    for (let p0 = 0; p0 < nPanels; p0 += NCP) {
      fn(
        ap + k0 * 16,
        bp + p0 * kp * 32 + k0 * 32,
        cp + p0 * 32,
        ldc * 4,
        mBlocks,
        Math.min(NCP, nPanels - p0),
        ks,
        kp * 16,
        kp * 32,
        k0 > 0 ? 1 : 0,
      );
    }
  }
}

/** The packers read Float32Array only (one element kind keeps their loops monomorphic). */
const f32 = (x: ArrayLike<number>): Float32Array => (x instanceof Float32Array ? x : Float32Array.from(x));

/** K as the kernel stores it (no padding needed: every k step is a whole 16-byte vector). */
export const padK = (k: number): number => k;

/**
 * Packs rows [r0, r0 + rows) of a row-major `src` (row length `d`, first `k` entries used) as
 * A micro-panels at float index `at` of `dst`, minus `shift[t]` from column t when given (the
 * column means, for PCA: centring and packing in one pass); rows past the end are zero.
 */
export function packA(
  src: Float32Array,
  d: number,
  r0: number,
  rows: number,
  k: number,
  dst: Float32Array,
  at: number,
  shift?: Float64Array,
): void {
  const kp = padK(k);
  const none = new Float64Array(0);
  const sh = shift ?? none;
  const useShift = shift !== undefined;
  // Four rows at a time, the panel written in order (row by row strides by 16 bytes: 2x slower).
  // Rows past the end read row 0 and are zeroed afterwards.
  for (let g = 0; g < rows; g += MR) {
    const o = at + g * kp;
    const m = Math.min(MR, rows - g);
    const s0 = (r0 + g) * d;
    const s1 = m > 1 ? s0 + d : s0;
    const s2 = m > 2 ? s0 + 2 * d : s0;
    const s3 = m > 3 ? s0 + 3 * d : s0;
    for (let t = 0; t < k; t++) {
      const mu = useShift ? sh[t] : 0;
      const w = o + t * MR;
      dst[w] = src[s0 + t] - mu;
      dst[w + 1] = src[s1 + t] - mu;
      dst[w + 2] = src[s2 + t] - mu;
      dst[w + 3] = src[s3 + t] - mu;
    }
    for (let j = m; j < MR; j++) for (let t = 0; t < k; t++) dst[o + t * MR + j] = 0;
  }
}

/**
 * Packs the transpose of rows [r0, r0 + rows) of `src` as B panels: B's column c is src row
 * r0 + c (so A B = A src^T). Columns past the end are zero.
 */
export function packBt(
  src: Float32Array,
  d: number,
  r0: number,
  rows: number,
  k: number,
  dst: Float32Array,
  at: number,
): void {
  const kp = padK(k);
  const panels = Math.ceil(rows / NR);
  dst.fill(0, at, at + panels * kp * NR);
  for (let c = 0; c < rows; c++) {
    const o = at + (c >> 3) * kp * NR + (c & 7);
    const s = (r0 + c) * d;
    for (let t = 0; t < k; t++) dst[o + t * NR] = src[s + t];
  }
}

/** Packs a row-major `k x cols` matrix B as B panels (columns past `cols` are zero). */
export function packB(src: Float32Array, k: number, cols: number, dst: Float32Array, at: number): void {
  const kp = padK(k);
  const panels = Math.ceil(cols / NR);
  dst.fill(0, at, at + panels * kp * NR);
  for (let t = 0; t < k; t++) {
    for (let c = 0; c < cols; c++) dst[at + (c >> 3) * kp * NR + t * NR + (c & 7)] = src[t * cols + c];
  }
}

/**
 * Packs the transpose of a row-major `k x rows` matrix as A micro-panels (A = src^T), minus
 * `shift[r]` from column r when given. Blocks of 64 source rows keep the reads in cache.
 */
export function packAt(
  src: Float32Array,
  k: number,
  rows: number,
  dst: Float32Array,
  at: number,
  shift?: Float64Array,
): void {
  const kp = padK(k);
  const padded = Math.ceil(rows / MR) * MR;
  const B = 64;
  for (let t0 = 0; t0 < k; t0 += B) {
    const t1 = Math.min(k, t0 + B);
    for (let r = 0; r < padded; r++) {
      const base = at + (r >> 2) * kp * MR + (r & 3);
      if (r >= rows) {
        for (let t = t0; t < t1; t++) dst[base + t * MR] = 0;
        continue;
      }
      const sh = shift ? shift[r] : 0;
      for (let t = t0; t < t1; t++) dst[base + t * MR] = src[t * rows + r] - sh;
    }
  }
}

/** Floats a packed A of `rows` rows and a packed B of `cols` columns take. */
export const packedASize = (rows: number, k: number): number => Math.ceil(rows / MR) * MR * padK(k);
export const packedBSize = (cols: number, k: number): number => Math.ceil(cols / NR) * NR * padK(k);

/** A new kernel instance with its own memory (freed with it), or null without WebAssembly SIMD. */
export function simdGemm(): SimdGemm | null {
  const mod = gemmModule(false);
  return mod ? new SimdGemm(mod) : null;
}
