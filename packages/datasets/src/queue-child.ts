// Child processes for the fault test: `queue-child.ts worker <redis> <queue> <ms> <ms>` serves jobs,
// `queue-child.ts coordinator <redis> <queue> <images> <store> <table> <batch>` runs the coordinator.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { runQueued } from './run-queued.js';
import { runWorker } from './worker.js';

const [role, redis, queue, ...rest] = process.argv.slice(2);
await tf.setBackend('cpu');
const say = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
if (role === 'worker') {
  const [delay, delayAfter] = rest.map(Number);
  const ac = new AbortController();
  process.on('SIGTERM', () => ac.abort());
  const s = await runWorker({
    redis,
    queue,
    lockDuration: 1500,
    stalledInterval: 500,
    signal: ac.signal,
    onJob: async (e) => {
      say(e);
      // Makes a batch last long enough to be killed in the middle of it.
      if (e.phase === 'start') await new Promise((r) => setTimeout(r, delay));
      // ... and leaves a window between a batch's commit and the job's completion.
      if (e.phase === 'done') await new Promise((r) => setTimeout(r, delayAfter));
    },
  });
  say({ phase: 'exit', ...s });
} else {
  const [images, store, table, batch] = rest;
  const s = await runQueued(images, {
    redis,
    queue,
    store,
    table,
    model: 'fashion-cnn',
    layer: 'dense1',
    batchSize: Number(batch),
    pollInterval: 100,
    onProgress: (p) => say({ progress: p.jobsDone, jobs: p.jobs }),
  });
  say({ summary: s });
}
process.exit(0);
