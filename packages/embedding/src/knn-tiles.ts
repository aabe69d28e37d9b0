import { checkAborted, CnnvizError } from '@cnnviz/core';
import { memory } from './memory.js';
import { gemmBlocked, gemmModule, MR, NR } from './simd-gemm.js';

/**
 * The kNN tile loop on the WebAssembly SIMD kernel, on this thread or on worker threads.
 *
 * A tile is `queries[q-block] x features[f-block]^T`; each thread packs its operands into its
 * own wasm memory, runs the kernel and feeds the scores to its own top-kc heaps. Threads take
 * tiles from a shared atomic counter, so a busy core simply takes fewer. Each score (q, j) is
 * computed in exactly one tile, so the union of the threads' heaps holds every query's best kc,
 * and every rejected score is >= the merged kc-th (see `mergeHeaps`), which is what the exact
 * re-ranking in knn.ts needs.
 */

/** What every thread reads: typed arrays, shared when threaded. */
export interface TileJob {
  Fs: Float32Array;
  Qs: Float32Array;
  n: number;
  nq: number;
  d: number;
  block: number;
  a: Float64Array;
  b: Float64Array;
  alpha: number;
  /** Per query the feature row to skip (itself), or null. */
  selfIds: Int32Array | null;
  symmetric: boolean;
  kc: number;
  /** (qb, fb) pairs. */
  tiles: Int32Array;
  /** [next tile, tiles done, stop flag]. */
  ctrl: Int32Array;
}

/**
 * A thread's candidates: per query a buffer of up to `cap` = 2 kc (score, index) pairs, and a
 * threshold (the kc-th best at the last compaction; scores at or above it are not kept). A full
 * buffer is cut back to its kc best by quickselect: amortised O(1) per kept score, against a
 * heap's O(log kc) sift (t-SNE asks for 91 neighbours).
 */
export interface TileHeaps {
  kc: number;
  cap: number;
  bufV: Float64Array;
  bufI: Int32Array;
  count: Int32Array;
  thrV: Float64Array;
  thrI: Int32Array;
}

type Gemm = (
  ap: number,
  bp: number,
  cp: number,
  ldc: number,
  mBlocks: number,
  nPanels: number,
  k: number,
) => void;

/** Float32 slots a thread's wasm memory needs for one tile (packed A, packed B, scores). */
export function tileFloats(job: Pick<TileJob, 'n' | 'nq' | 'd' | 'block'>): number {
  const rows = Math.ceil(Math.min(job.block, job.nq) / 4) * 4;
  const cols = Math.ceil(Math.min(job.block, job.n) / 8) * 8;
  // Packed A, packed B, scores; then the filter's a, b, thresholds (float64) and its output.
  return rows * job.d + cols * job.d + rows * cols + 4 * rows + 4 * (cols + 2) + (rows * cols) / 2 + 16;
}

/** The kernel module's candidate filter (see `filterKernel` in simd-gemm.ts). */
export type Filter = (
  cp: number,
  ldc: number,
  rows: number,
  cols2: number,
  a: number,
  b: number,
  thrRow: number,
  thrCol: number,
  alpha: number,
  both: number,
  out: number,
) => number;

/**
 * A tile loop over `job` for one thread: each call of the returned function takes tiles off
 * `job.ctrl` until none are left, the stop flag is set, or `maxTiles` are done, and returns how
 * many it did. Built once per scan, so V8 optimises the loop and its helpers once (closures made
 * per call deoptimised it on every tile). Self-contained on purpose (worker threads run its
 * source text).
 */
export function tileRunner(
  job: TileJob,
  heaps: TileHeaps,
  gemm: Gemm,
  filter: Filter,
  memory: WebAssembly.Memory,
): (maxTiles: number) => number {
  const { Fs, Qs, n, nq, d, block, a, b, alpha, selfIds, symmetric, kc, tiles, ctrl } = job;
  const { bufV, bufI, count, thrV, thrI, cap } = heaps;
  let lastQ = -1;
  let lastF = -1;
  const rows4 = Math.ceil(Math.min(block, nq) / 4) * 4;
  const cols8 = Math.ceil(Math.min(block, n) / 8) * 8;
  const ap = 0;
  const bp = rows4 * d * 4;
  const cp = bp + cols8 * d * 4;
  const ldc = cols8;
  const mem = new Float32Array(memory.buffer);
  const f64 = new Float64Array(memory.buffer);
  const i32 = new Int32Array(memory.buffer);
  const S0 = cp >> 2;
  // The filter's inputs (float64) and output (int32), after the scores.
  const aOff = cp + rows4 * cols8 * 4;
  const bOff = aOff + rows4 * 8;
  const trOff = bOff + (cols8 + 2) * 8;
  const tcOff = trOff + rows4 * 8;
  const outOff = tcOff + (cols8 + 2) * 8;
  const nTiles = tiles.length >> 1;

  /** Keeps the kc best of query q's buffer (quickselect on (score, index)); sets its threshold. */
  const compact = (q: number): void => {
    const base = q * cap;
    let lo = base;
    let hi = base + count[q] - 1;
    const nth = base + kc - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const pv = bufV[mid];
      const pi = bufI[mid];
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (bufV[i] < pv || (bufV[i] === pv && bufI[i] < pi)) i++;
        while (bufV[j] > pv || (bufV[j] === pv && bufI[j] > pi)) j--;
        if (i <= j) {
          const tv = bufV[i];
          bufV[i] = bufV[j];
          bufV[j] = tv;
          const ti = bufI[i];
          bufI[i] = bufI[j];
          bufI[j] = ti;
          i++;
          j--;
        }
      }
      if (nth <= j) hi = j;
      else if (nth >= i) lo = i;
      else break;
    }
    count[q] = kc;
    // The kc-th best: the largest of the kept.
    let wv = bufV[base];
    let wi = bufI[base];
    for (let t = base + 1; t < base + kc; t++) {
      if (bufV[t] > wv || (bufV[t] === wv && bufI[t] > wi)) {
        wv = bufV[t];
        wi = bufI[t];
      }
    }
    thrV[q] = wv;
    thrI[q] = wi;
  };

  const offer = (q: number, v: number, j: number): void => {
    let c = count[q];
    if (c === cap) {
      compact(q);
      c = kc;
      // The compaction may have raised the bar above this score.
      if (!(v < thrV[q] || (v === thrV[q] && j < thrI[q]))) return;
    }
    bufV[q * cap + c] = v;
    bufI[q * cap + c] = j;
    count[q] = c + 1;
  };

  return (maxTiles: number): number => {
    let done = 0;
    while (done < maxTiles) {
      if (Atomics.load(ctrl, 2) !== 0) break;
      const t = Atomics.add(ctrl, 0, 1);
      if (t >= nTiles) break;
      const qb = tiles[2 * t];
      const fb = tiles[2 * t + 1];
      const q0 = qb * block;
      const rows = Math.min(block, nq - q0);
      const f0 = fb * block;
      const cols = Math.min(block, n - f0);
      if (qb !== lastQ) {
        // A: micro-panels of 4 query rows, k-major; written in order, read from 4 rows at once.
        const A0 = ap >> 2;
        for (let r0 = 0; r0 < rows; r0 += 4) {
          const o = A0 + r0 * d;
          const s0 = (q0 + r0) * d;
          const s1 = r0 + 1 < rows ? s0 + d : -1;
          const s2 = r0 + 2 < rows ? s0 + 2 * d : -1;
          const s3 = r0 + 3 < rows ? s0 + 3 * d : -1;
          for (let t2 = 0; t2 < d; t2++) {
            const w = o + 4 * t2;
            mem[w] = Qs[s0 + t2];
            mem[w + 1] = s1 >= 0 ? Qs[s1 + t2] : 0;
            mem[w + 2] = s2 >= 0 ? Qs[s2 + t2] : 0;
            mem[w + 3] = s3 >= 0 ? Qs[s3 + t2] : 0;
          }
        }
        lastQ = qb;
      }
      if (fb !== lastF) {
        // B = features^T: panels of 8 feature rows, k-major; written in order.
        const B0 = bp >> 2;
        for (let c0 = 0; c0 < cols; c0 += 8) {
          const o = B0 + c0 * d;
          const m = Math.min(8, cols - c0);
          for (let c = 0; c < 8; c++) {
            if (c < m) {
              const s = (f0 + c0 + c) * d;
              for (let t2 = 0; t2 < d; t2++) mem[o + 8 * t2 + c] = Fs[s + t2];
            } else {
              for (let t2 = 0; t2 < d; t2++) mem[o + 8 * t2 + c] = 0;
            }
          }
        }
        lastF = fb;
      }
      gemm(ap, bp, cp, ldc, Math.ceil(rows / 4), Math.ceil(cols / 8), d);
      const both = symmetric && fb !== qb;
      // SIMD pre-filter against a snapshot of the thresholds (they only fall), then the exact
      // checks below on the few column pairs it lets through.
      for (let r = 0; r < rows; r++) {
        f64[(aOff >> 3) + r] = a[q0 + r];
        f64[(trOff >> 3) + r] = thrV[q0 + r];
      }
      for (let c = 0; c < cols + 2; c++) {
        f64[(bOff >> 3) + c] = c < cols ? b[f0 + c] : 0;
        f64[(tcOff >> 3) + c] = both && c < cols ? thrV[f0 + c] : -Infinity;
      }
      const cols2 = cols + (cols & 1);
      const found = filter(cp, ldc, rows, cols2, aOff, bOff, trOff, tcOff, alpha, both ? 1 : 0, outOff);
      for (let e = 0; e < found; e++) {
        const at = i32[(outOff >> 2) + e];
        const r = (at / ldc) | 0;
        const c0 = at - r * ldc;
        const qi = q0 + r;
        const skip = selfIds !== null ? selfIds[qi] : -1;
        for (let c = c0; c < c0 + 2 && c < cols; c++) {
          const j = f0 + c;
          const v = a[qi] + b[j] + alpha * mem[S0 + at - c0 + c];
          const tv = thrV[qi];
          if (v <= tv && (v < tv || j < thrI[qi]) && j !== skip) offer(qi, v, j);
          if (both && v <= thrV[j] && (v < thrV[j] || qi < thrI[j])) offer(j, v, qi);
        }
      }
      Atomics.add(ctrl, 1, 1);
      done++;
    }
    return done;
  };
}

export function newHeaps(nq: number, kc: number, shared: boolean, cap = 2 * kc): TileHeaps {
  const { f64, i32 } = memory(shared);
  const h = {
    kc,
    cap,
    bufV: f64(nq * cap),
    bufI: i32(nq * cap),
    count: i32(nq),
    thrV: f64(nq),
    thrI: i32(nq),
  };
  h.thrV.fill(Infinity);
  h.thrI.fill(0x7fffffff);
  return h;
}

/**
 * Per query, the best kc of the threads' candidates in rows of kc, the worst first (what
 * knn.ts reads as the bound). Every score a thread dropped was >= its threshold >= the kc-th
 * best of its own candidates >= the merged kc-th best.
 */
export function mergeHeaps(parts: TileHeaps[], nq: number, kc: number): TileHeaps {
  const out = newHeaps(nq, kc, false, kc);
  const cap = parts.reduce((s, h) => s + h.cap, 0);
  const v = new Float64Array(cap);
  const ids = new Int32Array(cap);
  const less = (a: number, b: number): boolean => v[a] < v[b] || (v[a] === v[b] && ids[a] < ids[b]);
  const swap = (a: number, b: number): void => {
    const tv = v[a];
    v[a] = v[b];
    v[b] = tv;
    const ti = ids[a];
    ids[a] = ids[b];
    ids[b] = ti;
  };
  for (let q = 0; q < nq; q++) {
    let m = 0;
    for (const h of parts) {
      const c = h.count[q];
      v.set(h.bufV.subarray(q * h.cap, q * h.cap + c), m);
      ids.set(h.bufI.subarray(q * h.cap, q * h.cap + c), m);
      m += c;
    }
    const keep = Math.min(kc, m);
    // Quickselect: the keep best to the front (keys are distinct: each index appears once).
    let lo = 0;
    let hi = m - 1;
    while (lo < hi) {
      swap((lo + hi) >> 1, hi);
      let store = lo;
      for (let t = lo; t < hi; t++) if (less(t, hi)) swap(t, store++);
      swap(store, hi);
      if (store === keep - 1) break;
      if (store < keep - 1) lo = store + 1;
      else hi = store - 1;
    }
    // Worst of the kept first.
    let w = 0;
    for (let t = 1; t < keep; t++) if (less(w, t)) w = t;
    swap(0, w);
    out.bufV.set(v.subarray(0, keep), q * kc);
    out.bufI.set(ids.subarray(0, keep), q * kc);
    out.count[q] = keep;
  }
  return out;
}

/** Options of one tiled scan. */
export interface SimdScanOptions {
  threads: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

// \`__name\`: some bundlers (esbuild keepNames, as tsx uses) wrap nested functions in it.
const WORKER_SOURCE = (): string => `
const { workerData, parentPort } = require('node:worker_threads');
var __name = (f) => f;
const gemmBlocked = (${gemmBlocked.toString()});
const tileRunner = (${tileRunner.toString()});
const { module, job, heaps, floats } = workerData;
try {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((floats * 4 + 64) / 65536), maximum: 65536 });
  const ex = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
  const fn = ex.gemm;
  tileRunner(job, heaps, (ap, bp, cp, ldc, mb, np, k) => gemmBlocked(fn, ap, bp, cp, ldc, mb, np, k), ex.filter, memory)(Infinity);
  parentPort.postMessage({ ok: true });
} catch (e) {
  parentPort.postMessage({ ok: false, message: String(e && e.message ? e.message : e) });
}
`;

const isNode = (): boolean => typeof process !== 'undefined' && typeof process.versions?.node === 'string';

/**
 * Runs every tile of `job` (its arrays shared when `threads` > 1) and returns the merged
 * candidates. Threads are Node worker_threads; elsewhere, or with one thread, the tiles run
 * here with a pause between tiles for progress and abort.
 */
export async function scanTiles(job: TileJob, opts: SimdScanOptions): Promise<TileHeaps> {
  const mod = gemmModule(false);
  if (mod === null) throw new CnnvizError('BACKEND', 'WebAssembly SIMD is not available');
  const total = job.tiles.length >> 1;
  const threads = isNode() ? Math.max(1, Math.min(opts.threads, total)) : 1;
  const floats = tileFloats(job);
  if (threads === 1) {
    const memory = new WebAssembly.Memory({ initial: Math.ceil((floats * 4 + 64) / 65536), maximum: 65536 });
    const ex = new WebAssembly.Instance(mod, { env: { mem: memory } }).exports;
    const fn = ex.gemm as Parameters<typeof gemmBlocked>[0];
    const heaps = newHeaps(job.nq, job.kc, false);
    const gemm: Gemm = (ap, bp, cp, ldc, mb, np, k) => gemmBlocked(fn, ap, bp, cp, ldc, mb, np, k);
    const run = tileRunner(job, heaps, gemm, ex.filter as Filter, memory);
    for (;;) {
      checkAborted(opts.signal, 'knn');
      if (run(1) === 0) break;
      opts.onProgress?.({ done: job.ctrl[1], total });
      await new Promise<void>((res) => setTimeout(res, 0));
    }
    return mergeHeaps([heaps], job.nq, job.kc);
  }
  const { Worker } = await import('node:worker_threads');
  const parts = Array.from({ length: threads }, () => newHeaps(job.nq, job.kc, true));
  const workers: InstanceType<typeof Worker>[] = [];
  try {
    for (const heaps of parts) {
      workers.push(
        new Worker(WORKER_SOURCE(), { eval: true, workerData: { module: mod, job, heaps, floats } }),
      );
    }
  } catch {
    // No worker threads here (a sandbox, a missing module): the same tiles on this thread.
    await Promise.all(workers.map((w) => w.terminate()));
    return scanTiles(job, { ...opts, threads: 1 });
  }
  let lastDone = 0;
  try {
    const finished = workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          w.once('message', (m: { ok: boolean; message?: string }) =>
            m.ok ? resolve() : reject(new CnnvizError('BACKEND', `knn worker failed: ${m.message}`)),
          );
          w.once('error', (e) =>
            reject(new CnnvizError('BACKEND', `knn worker failed: ${e.message}`, { cause: e })),
          );
          w.once('exit', (code) =>
            reject(new CnnvizError('BACKEND', `knn worker exited early (code ${code})`)),
          );
        }),
    );
    let settled = false;
    let failure: unknown;
    const all = Promise.all(finished).then(
      () => (settled = true),
      (e) => {
        settled = true;
        failure = e;
      },
    );
    // Poll for progress and abort while the workers run.
    while (!settled) {
      await Promise.race([all, new Promise<void>((res) => setTimeout(res, 20))]);
      const done = Atomics.load(job.ctrl, 1);
      if (done !== lastDone) {
        lastDone = done;
        opts.onProgress?.({ done, total });
      }
      if (opts.signal?.aborted) {
        Atomics.store(job.ctrl, 2, 1);
        checkAborted(opts.signal, 'knn');
      }
    }
    if (failure !== undefined) throw failure;
  } finally {
    Atomics.store(job.ctrl, 2, 1);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return mergeHeaps(parts, job.nq, job.kc);
}

/** The (qb, fb) tiles of a scan: the upper triangle for symmetric scans, else all pairs. */
export function tileList(qBlocks: number, fBlocks: number, symmetric: boolean): Int32Array {
  const out: number[] = [];
  for (let qb = 0; qb < qBlocks; qb++) for (let fb = symmetric ? qb : 0; fb < fBlocks; fb++) out.push(qb, fb);
  return Int32Array.from(out);
}

/** A typed array copied into shared memory (for worker threads). */
export function toShared<T extends Float32Array | Float64Array | Int32Array>(x: T): T {
  const C = x.constructor as new (b: SharedArrayBuffer) => T;
  const out = new C(new SharedArrayBuffer(x.byteLength));
  out.set(x as never);
  return out;
}

export { MR, NR };
