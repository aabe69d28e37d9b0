import { CnnvizError } from '@cnnviz/core';
import { walkRange, type BarnesHut, type ForcePool, type TreeArrays } from './tsne-gradient.js';

// Control words in a shared Int32Array.
const GENERATION = 0;
const NEXT_CHUNK = 1;
const DONE = 2;
const SIZE = 3;
const COUNT = 4;
const CHUNK = 5;
const STOP = 6;
const WHICH_IDX = 7;

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
  const { Worker } = await import('node:worker_threads');
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * 8));
  const params = new Float64Array(new SharedArrayBuffer(8));
  const arrays = bh.sharedArrays();
  const chunk = 128;
  const pool: Array<InstanceType<typeof Worker>> = [];
  try {
    for (let w = 0; w < workers; w++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ctrl, params, dims, ...arrays } });
      pool.push(worker);
    }
    await Promise.all(
      pool.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.once('message', () => resolve());
            worker.once('error', reject);
          }),
      ),
    );
  } catch (e) {
    await Promise.all(pool.map((w) => w.terminate()));
    throw new CnnvizError(
      'BACKEND',
      `could not start t-SNE worker threads: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }

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
    start(tree: TreeArrays, theta2: number): void {
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
