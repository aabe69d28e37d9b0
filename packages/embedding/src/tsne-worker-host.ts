import { check, CnnvizError, type CnnvizErrorCode } from '@cnnviz/core';
import { readMatrix, type Matrix } from './matrix.js';
import type { TsneOptions, TsneStep } from './tsne.js';
import { workerEntry } from './worker-entry.js';

/** Message from the worker: a progress step, the end, or an error to rethrow here. */
export type WorkerMessage =
  | { type: 'step'; step: TsneStep }
  | { type: 'done' }
  | { type: 'error'; code: CnnvizErrorCode; message: string };

/**
 * Runs `tsne` in a Node worker thread: the data goes over once (transferred), progress steps
 * come back as messages, abort terminates the worker (see `workerEntry` for where it loads from).
 */
export async function tsneInWorker(x: Matrix, options: TsneOptions): Promise<Float32Array[]> {
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  check(isNode, 'BAD_OPTION', 'worker: true needs Node (worker_threads); in a browser run tsne without it');
  const m = await readMatrix(x, 'x', 2);
  const { Worker } = await import('node:worker_threads');
  const { entry, eval: evalCode } = await workerEntry('tsne-worker', 'worker: true');
  const { signal, onProgress, worker: _worker, ...rest } = options;
  if (signal?.aborted) throw new CnnvizError('ABORTED', 't-SNE was aborted', { cause: signal.reason });
  const data = m.data.slice();
  const w = new Worker(entry, {
    eval: evalCode,
    workerData: { data, n: m.n, d: m.d, options: rest },
    transferList: [data.buffer],
  });
  return new Promise<Float32Array[]>((resolve, reject) => {
    let last: Float32Array[] | undefined;
    let settled = false;
    const finish = (err: unknown, value?: Float32Array[]): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void w.terminate();
      if (err) reject(err);
      else resolve(value!);
    };
    const onAbort = (): void =>
      finish(new CnnvizError('ABORTED', 't-SNE was aborted', { cause: signal?.reason }));
    signal?.addEventListener('abort', onAbort, { once: true });
    w.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'step') {
        last = msg.step.embedding;
        try {
          onProgress?.(msg.step);
        } catch (e) {
          finish(e);
        }
      } else if (msg.type === 'done') {
        finish(undefined, last);
      } else {
        finish(new CnnvizError(msg.code, msg.message));
      }
    });
    w.on('error', (e) =>
      finish(new CnnvizError('BACKEND', `t-SNE worker failed: ${e.message}`, { cause: e })),
    );
    w.on('exit', (code) => finish(new CnnvizError('BACKEND', `t-SNE worker exited early (code ${code})`)));
  });
}
