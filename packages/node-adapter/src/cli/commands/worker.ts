import type { Command } from '../command.js';
import { redisOptions } from '../datasets.js';

/** `cnnviz worker`: serves a queue's jobs until stopped (Ctrl-C or SIGTERM). */
export const worker: Command = {
  spec: {
    name: 'worker',
    summary: 'process `cnnviz queue` jobs from Redis (run any number, on any machines)',
    description:
      "Takes batch jobs from the BullMQ queue, computes them with the job's model and writes the rows to this worker's own table in the job's store, until Ctrl-C or SIGTERM (the current job finishes first). A worker that dies mid-job loses its lock after --lock-ms and another worker retries the job. Needs @cnnviz/datasets.",
    options: {
      ...redisOptions,
      'lock-ms': {
        type: 'integer',
        min: 1000,
        default: 30000,
        placeholder: '<ms>',
        description:
          "how long a job stays locked without this worker's heartbeat before it is retried elsewhere",
      },
    },
    examples: [
      'cnnviz worker --redis redis://10.0.0.5:6379',
      'CNNVIZ_REDIS=redis://10.0.0.5:6379 cnnviz worker --json',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { loadDatasets, redisUrl } = await import('../datasets.js');
    const redis = redisUrl(v.redis, 'worker');
    const ds = await loadDatasets('worker');
    const s = await import('../session.js');
    const backend = await s.startBackend(ctx, v.backend);
    const { parseModelRef, loadModelRef } = await import('../model-arg.js');
    // SIGTERM (a service manager, a scaler) stops like Ctrl-C: after the current job.
    const stop = new AbortController();
    const onTerm = () => stop.abort();
    process.once('SIGTERM', onTerm);
    ctx.signal.addEventListener('abort', onTerm, { once: true });
    const lock = v['lock-ms'] as number;
    ctx.note(
      `worker: serving queue ${String(v.queue)} on ${redis.replace(/\/\/[^@]*@/, '//')} (Ctrl-C to stop)`,
    );
    try {
      const summary = await ds.runWorker({
        redis,
        queue: v.queue as string,
        lockDuration: lock,
        stalledInterval: Math.max(500, Math.round(lock / 2)),
        loadModel: async (ref, size) => (await loadModelRef(parseModelRef(ref), size)).model,
        signal: stop.signal,
        onJob: (e) => {
          if (e.phase === 'done') ctx.note(`worker ${e.worker}: job ${e.job} done (${e.images} images)`);
        },
      });
      return {
        lines: [`worker ${summary.worker}: ${summary.jobs} jobs, ${summary.images} images`],
        json: { command: 'worker', backend: backend.name, ...summary },
      };
    } finally {
      process.off('SIGTERM', onTerm);
    }
  },
};
