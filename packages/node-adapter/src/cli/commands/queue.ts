import type { Command } from '../command.js';
import { modelOption, sizeOption } from '../command.js';
import { extractOptions, redisOptions, storeOptions } from '../datasets.js';
import { dataPositional } from './extract.js';

/** `cnnviz queue`: the coordinator of a run on many machines (BullMQ on Redis). */
export const queue: Command = {
  spec: {
    name: 'queue',
    summary: 'split an image set into jobs on a Redis queue, wait for the workers, merge their results',
    description:
      'The coordinator of a run on many machines: splits the data set into batch jobs whose ids hash their contents (so queueing twice adds nothing twice) on a BullMQ queue, waits while `cnnviz worker` processes on any machines compute them into their own tables of the shared store, then merges those tables into --table, one row per image. Killed and rerun, it resumes. Paths and --model must be readable by every worker (a shared file system), --store reachable by all (a shared folder or object storage). Needs @cnnviz/datasets.',
    positionals: dataPositional,
    options: {
      model: modelOption('fashion-cnn'),
      ...storeOptions,
      ...redisOptions,
      ...extractOptions,
      attribution: {
        type: 'string',
        choices: ['gradcam', 'saliency'],
        placeholder: '<method>',
        description: 'also store one attribution map per image',
      },
      size: sizeOption,
    },
    examples: [
      'cnnviz queue /shared/val/ -m mobilenet-v2 --layer out_relu --redis redis://10.0.0.5:6379 --store s3://bucket/cnnviz --table val-out_relu',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { loadDatasets, redisUrl, tableName, rateNote } = await import('../datasets.js');
    const table = tableName(v.table, 'queue');
    const redis = redisUrl(v.redis, 'queue');
    const ds = await loadDatasets('queue');
    const { parseModelRef } = await import('../model-arg.js');
    const { resolve } = await import('node:path');
    const ref = parseModelRef(String(v.model));
    const bar = ctx.bar('queue');
    const summary = await ds
      .runQueued(args.positionals, {
        redis,
        queue: v.queue as string,
        store: v.store as string,
        table,
        // Workers elsewhere load the model by this name: a zoo name, or an absolute path.
        model: ref.zoo ?? resolve(ref.path!),
        layer: v.layer as string | undefined,
        ...(typeof v.size === 'number' ? { size: v.size } : {}),
        batchSize: (v.batch as number | undefined) ?? 64,
        ...(v.attribution ? { attribution: { method: v.attribution as 'gradcam' | 'saliency' } } : {}),
        signal: ctx.signal,
        onProgress: (p) => bar.update(p.done, p.total, `${p.jobsDone}/${p.jobs} jobs, ${rateNote(p)}`),
      })
      .finally(() => bar.done());
    return {
      lines: [
        `${summary.added} images stored in ${summary.store} table ${summary.table} by ${summary.merge.tables} workers' tables (${summary.jobs} jobs, ${summary.skipped} already there, ${summary.merge.duplicates} duplicates of retried jobs left out; ${summary.rows} rows) in ${summary.seconds.toFixed(1)} s`,
      ],
      json: { command: 'queue', model: ref.name, layer: v.layer ?? 'logits', ...summary },
    };
  },
};
