/** Worker-thread entry of `tsne(x, { worker: true })`: runs the plain-JS t-SNE and posts its steps. */
import { parentPort, workerData } from 'node:worker_threads';
import { CnnvizError, hasWasmSimd } from '@cnnviz/core';
import { tsneFlat, type TsneOptions } from './tsne.js';
import type { WorkerMessage } from './tsne-worker-host.js';

const { data, n, d, options } = workerData as {
  data: Float32Array;
  n: number;
  d: number;
  options: TsneOptions;
};
const post = (msg: WorkerMessage): void => parentPort!.postMessage(msg);

// No top-level await: the package also builds to CommonJS.
async function run(): Promise<void> {
  try {
    for await (const step of tsneFlat({ data, n, d }, options, hasWasmSimd() ? 'simd' : 'js'))
      post({ type: 'step', step });
    post({ type: 'done' });
  } catch (e) {
    post({
      type: 'error',
      code: CnnvizError.isInstance(e) ? e.code : 'BACKEND',
      message: e instanceof Error ? e.message : String(e),
    });
  }
}
void run();
