import { CnnvizError } from '@cnnviz/core';
import { walkRange, type BarnesHut, type ForcePool, type TreeArrays } from './tsne-gradient.js';
import type { Worker } from 'node:worker_threads';
import { claimChunk, CHUNK_BITS, roundTag, workersReady } from './chunks.js';
import { instantiateTsne } from './tsne-simd.js';

// Control words in a shared Int32Array.
const GENERATION = 0;
const NEXT_CHUNK = 1;
const DONE = 2;
const SIZE = 3;
const COUNT = 4;
const CHUNK = 5;
const STOP = 6;
const WHICH_IDX = 7;
// Control words of the SIMD pool.
const S_GEN = 0;
const S_STOP = 1;
const S_NEXT_A = 2;
const S_NEXT_W = 3;
const S_DONE = 4;
const S_TREE = 5;
const S_SIZE = 6;
const S_COUNT = 7;
const S_CHUNK = 8;
const S_WHICH = 9;

/**
 * The worker's program: wait for a new generation, take chunks of sorted points off a shared
 * counter and walk them, report done. It runs `walkRange`'s own source text, so the same code
 * works from the built package and from TypeScript sources.
 */
const WORKER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const walkRange = (${walkRange.toString()});
const { ctrl, params, node, next, sy, idxA, idxB, neg, sumQ, dims } = workerData;
let gen = Atomics.load(ctrl, ${GENERATION});
parentPort.postMessage('ready');
for (;;) {
  Atomics.wait(ctrl, ${GENERATION}, gen);
  gen = Atomics.load(ctrl, ${GENERATION});
  if (Atomics.load(ctrl, ${STOP}) === 1) break;
  const size = ctrl[${SIZE}], n = ctrl[${COUNT}], chunk = ctrl[${CHUNK}];
  const idx = ctrl[${WHICH_IDX}] === 0 ? idxA : idxB;
  const theta2 = params[0];
  for (;;) {
    const s0 = Atomics.add(ctrl, ${NEXT_CHUNK}, 1) * chunk;
    if (s0 >= n) break;
    walkRange(node, next, size, sy, idx, neg, sumQ, s0, Math.min(n, s0 + chunk), theta2, dims);
  }
  Atomics.add(ctrl, ${DONE}, 1);
  Atomics.notify(ctrl, ${DONE});
}
`;

// Rows of P per attraction chunk (SIMD path).
const ROWS = 512;

/**
 * The SIMD path's worker: each round, attraction row blocks first (they need no tree, so they
 * overlap the tree build on the calling thread), then, once the round's tree is published, walk
 * chunks; chunks are claimed with the round's tag (see chunks.ts).
 */
const SIMD_WORKER_SOURCE = (): string => `
const { workerData, parentPort } = require('node:worker_threads');
var __name = (f) => f;
const claimChunk = (${claimChunk.toString()});
const { ctrl, params, module, memory, L } = workerData;
const k = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
let gen = Atomics.load(ctrl, ${S_GEN});
parentPort.postMessage('ready');
for (;;) {
  Atomics.wait(ctrl, ${S_GEN}, gen);
  gen = Atomics.load(ctrl, ${S_GEN});
  if (Atomics.load(ctrl, ${S_STOP}) === 1) break;
  const tag = gen & 0x7ff;
  const n = ctrl[${S_COUNT}], chunk = ctrl[${S_CHUNK}];
  const blocks = Math.ceil(n / ${ROWS});
  const walks = Math.ceil(n / chunk);
  const total = blocks + walks;
  const finished = () => {
    if (Atomics.add(ctrl, ${S_DONE}, 1) + 1 === total) Atomics.notify(ctrl, ${S_DONE});
  };
  for (;;) {
    const t = claimChunk(ctrl, ${S_NEXT_A}, tag, blocks);
    if (t < 0) break;
    const a = t * ${ROWS};
    k.attract2d(L.y, L.rowPtr, L.cols, L.vals, L.pos, a, Math.min(n, a + ${ROWS}));
    finished();
  }
  for (;;) {
    const ready = Atomics.load(ctrl, ${S_TREE});
    if (ready === gen || Atomics.load(ctrl, ${S_GEN}) !== gen) break;
    Atomics.wait(ctrl, ${S_TREE}, ready, 100);
  }
  if (Atomics.load(ctrl, ${S_TREE}) !== gen) continue;
  const size = ctrl[${S_SIZE}];
  const idx = ctrl[${S_WHICH}] === 0 ? L.idxA : L.idxB;
  const theta2 = params[0];
  for (;;) {
    const t = claimChunk(ctrl, ${S_NEXT_W}, tag, walks);
    if (t < 0) break;
    k.walk2d(L.node, L.next, size, L.sy, idx, L.neg, L.sumQ, t * chunk, Math.min(n, t * chunk + chunk), theta2);
    finished();
  }
}
`;

export interface ClosablePool extends ForcePool {
  close(): Promise<void>;
}

/**
 * `workers` threads that share the Barnes–Hut walk with the calling thread over shared memory
 * (Node `worker_threads`). Points are handed out in chunks from an atomic counter, so a busy
 * core simply takes fewer; every point's force and q-sum are computed the same way whoever
 * takes it, so results do not depend on the thread count.
 */
export async function createForcePool(
  workers: number,
  n: number,
  dims: number,
  bh: BarnesHut,
): Promise<ClosablePool> {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (!isNode)
    throw new CnnvizError(
      'BAD_OPTION',
      'threads > 1 needs Node (worker_threads); use threads: 1 in a browser',
    );
  const simd = bh.simdShared();
  if (simd) return createSimdPool(workers, n, simd);
  const { Worker } = await import('node:worker_threads');
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * 8));
  const params = new Float64Array(new SharedArrayBuffer(8));
  const arrays = bh.sharedArrays();
  const chunk = 128;
  const pool = await startWorkers(
    workers,
    () => new Worker(WORKER_SOURCE, { eval: true, workerData: { ctrl, params, dims, ...arrays } }),
  );

  const walkChunks = (tree: TreeArrays, theta2: number): void => {
    for (;;) {
      const s0 = Atomics.add(ctrl, NEXT_CHUNK, 1) * chunk;
      if (s0 >= n) break;
      walkRange(
        tree.node,
        tree.next,
        tree.size,
        tree.sy,
        tree.idx,
        tree.neg,
        tree.sumQ,
        s0,
        Math.min(n, s0 + chunk),
        theta2,
        dims,
      );
    }
  };

  return {
    start(tree: TreeArrays | null, theta2: number): void {
      if (tree === null) throw new Error('the JS pool walks a built tree');
      ctrl[SIZE] = tree.size;
      ctrl[COUNT] = n;
      ctrl[CHUNK] = chunk;
      ctrl[WHICH_IDX] = tree.idx.buffer === arrays.idxA.buffer ? 0 : 1;
      params[0] = theta2;
      Atomics.store(ctrl, NEXT_CHUNK, 0);
      Atomics.store(ctrl, DONE, 0);
      // The atomic increment publishes every plain write above to the workers.
      Atomics.add(ctrl, GENERATION, 1);
      Atomics.notify(ctrl, GENERATION);
    },
    finish(tree: TreeArrays, theta2: number): void {
      walkChunks(tree, theta2);
      let stalled = 0;
      for (;;) {
        const done = Atomics.load(ctrl, DONE);
        if (done >= workers) break;
        if (Atomics.wait(ctrl, DONE, done, 5000) === 'timed-out' && ++stalled >= 12) {
          throw new CnnvizError('BACKEND', 't-SNE worker threads stopped responding for 60 s');
        }
      }
    },
    async close(): Promise<void> {
      Atomics.store(ctrl, STOP, 1);
      Atomics.add(ctrl, GENERATION, 1);
      Atomics.notify(ctrl, GENERATION);
      await Promise.all(pool.map((w) => w.terminate()));
    },
  };
}

/** `count` workers from `make`, once all are ready; on failure none is left running (BACKEND). */
async function startWorkers(count: number, make: () => Worker): Promise<Worker[]> {
  const pool: Worker[] = [];
  try {
    for (let w = 0; w < count; w++) pool.push(make());
    await workersReady(pool);
    return pool;
  } catch (e) {
    await Promise.all(pool.map((w) => w.terminate()));
    throw new CnnvizError(
      'BACKEND',
      `could not start t-SNE worker threads: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

/**
 * The SIMD path's pool: per round (`start`), workers claim attraction blocks, then walk chunks
 * once `finish` publishes the tree; `finish` claims chunks on this thread too and returns when
 * every chunk is done, without waiting for workers that never woke up.
 */
async function createSimdPool(
  workers: number,
  n: number,
  simd: NonNullable<ReturnType<BarnesHut['simdShared']>>,
): Promise<ClosablePool> {
  const { Worker } = await import('node:worker_threads');
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * 10));
  const params = new Float64Array(new SharedArrayBuffer(8));
  const chunk = 128;
  const pool = await startWorkers(
    workers,
    () =>
      new Worker(SIMD_WORKER_SOURCE(), {
        eval: true,
        workerData: { ctrl, params, module: simd.module, memory: simd.memory, L: simd.layout },
      }),
  );
  const k = instantiateTsne(simd.module, simd.memory);
  const L = simd.layout;
  const blocks = Math.ceil(n / ROWS);
  const walks = Math.ceil(n / chunk);
  const total = blocks + walks;
  let gen = 0;
  return {
    start(): void {
      gen = Atomics.load(ctrl, S_GEN) + 1;
      const tag = roundTag(gen) << CHUNK_BITS;
      ctrl[S_COUNT] = n;
      ctrl[S_CHUNK] = chunk;
      Atomics.store(ctrl, S_DONE, 0);
      Atomics.store(ctrl, S_NEXT_A, tag);
      Atomics.store(ctrl, S_NEXT_W, tag);
      // The atomic store publishes every plain write above to the workers.
      Atomics.store(ctrl, S_GEN, gen);
      Atomics.notify(ctrl, S_GEN);
    },
    finish(tree: TreeArrays, theta2: number): void {
      ctrl[S_SIZE] = tree.size;
      ctrl[S_WHICH] = tree.idx.byteOffset === L.idxA ? 0 : 1;
      params[0] = theta2;
      Atomics.store(ctrl, S_TREE, gen);
      Atomics.notify(ctrl, S_TREE);
      const tag = roundTag(gen);
      for (;;) {
        const t = claimChunk(ctrl, S_NEXT_A, tag, blocks);
        if (t < 0) break;
        k.attract2d(L.y, L.rowPtr, L.cols, L.vals, L.pos, t * ROWS, Math.min(n, t * ROWS + ROWS));
        Atomics.add(ctrl, S_DONE, 1);
      }
      const idx = tree.idx.byteOffset;
      for (;;) {
        const t = claimChunk(ctrl, S_NEXT_W, tag, walks);
        if (t < 0) break;
        k.walk2d(
          L.node,
          L.next,
          tree.size,
          L.sy,
          idx,
          L.neg,
          L.sumQ,
          t * chunk,
          Math.min(n, t * chunk + chunk),
          theta2,
        );
        Atomics.add(ctrl, S_DONE, 1);
      }
      // Only chunks a worker claimed and has not finished are left to wait for.
      let stalled = 0;
      for (;;) {
        const done = Atomics.load(ctrl, S_DONE);
        if (done >= total) break;
        if (Atomics.wait(ctrl, S_DONE, done, 5000) === 'timed-out' && ++stalled >= 12) {
          throw new CnnvizError('BACKEND', 't-SNE worker threads stopped responding for 60 s');
        }
      }
    },
    async close(): Promise<void> {
      Atomics.store(ctrl, S_STOP, 1);
      Atomics.add(ctrl, S_GEN, 1);
      Atomics.notify(ctrl, S_GEN);
      await Promise.all(pool.map((w) => w.terminate()));
    },
  };
}
