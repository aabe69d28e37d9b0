import { CnnvizError } from '@cnnviz/core';
import type { SparseP } from './affinities.js';
import { workersReady } from './chunks.js';
import type { FftPool, FftRepulsion, GridShare } from './tsne-fft.js';
import type { FftRoundMessage, FftWorkerData } from './tsne-fft-worker.js';
import { workerEntry } from './worker-entry.js';

export interface ClosableFftPool extends FftPool {
  close(): Promise<void>;
}

let live = 0;
/** Worker threads of FIt-SNE pools that have not exited (tests check that abort ends them). */
export function liveFftWorkers(): number {
  return live;
}

/**
 * FIt-SNE's second thread (Node `worker_threads`): while this thread convolves grid a and takes
 * P's rows before `from`, a worker computes the attraction of rows [from, n) into `attr` and
 * convolves grid b, on shared memory. Both run the same
 * functions as the one-thread path on the same data, so the embedding does not depend on the
 * thread count or on timing. `y`, P's arrays and `attr` must be SharedArrayBuffer-backed, and
 * `fft` made with `shared`.
 */
export async function createFftPool(
  y: Float64Array,
  P: SparseP,
  attr: Float64Array,
  from: number,
  fft: FftRepulsion,
): Promise<ClosableFftPool> {
  const { Worker } = await import('node:worker_threads');
  const { entry, eval: evalCode } = await workerEntry(
    'tsne-fft-worker',
    "t-SNE method 'fft' with threads > 1",
  );
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * 64));
  const data: FftWorkerData = { ctrl, y, P, attr, from, points: fft.points };
  const w = new Worker(entry, { eval: evalCode, workerData: data });
  live++;
  w.once('exit', () => live--);
  try {
    await workersReady([w]);
  } catch (e) {
    await w.terminate();
    throw new CnnvizError(
      'BACKEND',
      `could not start the t-SNE worker thread: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  let round = 0;
  return {
    start(r: { L: number; m: number }, grids?: { b: GridShare; kRe: Float32Array }): void {
      round++;
      const msg: FftRoundMessage = { round, L: r.L, m: r.m, ...(grids && { grids }) };
      // The atomic store publishes this thread's plain writes (y, weights, kernel) to the worker.
      Atomics.store(ctrl, 3, round);
      w.postMessage(msg);
    },
    ready(): void {
      // Publishes the weights and kernel, as `start` published y.
      Atomics.store(ctrl, 5, round);
      Atomics.notify(ctrl, 5);
    },
    finish(): void {
      let stalled = 0;
      for (;;) {
        const done = Atomics.load(ctrl, 0);
        if (done === round) break;
        if (Atomics.wait(ctrl, 0, done, 5000) === 'timed-out' && ++stalled >= 12)
          throw new CnnvizError('BACKEND', 't-SNE worker thread stopped responding for 60 s');
      }
      if (Atomics.load(ctrl, 1) === 1) {
        const text = new TextDecoder().decode(new Uint8Array(ctrl.buffer, 32, ctrl[2]).slice());
        throw new CnnvizError('BACKEND', `t-SNE worker thread failed: ${text}`);
      }
    },
    async close(): Promise<void> {
      await w.terminate();
    },
  };
}
