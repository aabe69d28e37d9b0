import type { ParsedArgs } from '../args.js';
import type { CommandResult, Ctx } from '../command.js';
import { loadDatasets, rateNote, tableName } from '../datasets.js';

/** `extract` and `audit`: one streamed run into the store, with a progress bar (rate and ETA). */
export async function runExtract(
  args: ParsedArgs,
  ctx: Ctx,
  command: string,
  method: 'gradcam' | 'saliency' | undefined,
  attributionLayer?: string,
): Promise<
  CommandResult & { summary: Awaited<ReturnType<import('../datasets.js').DatasetsModule['extractToStore']>> }
> {
  const v = args.values;
  const table = tableName(v.table, command);
  const ds = await loadDatasets(command);
  const { parseModelRef, loadModelRef } = await import('../model-arg.js');
  const ref = parseModelRef(String(v.model));
  const s = await import('../session.js');
  const backend = await s.startBackend(ctx, v.backend);
  const lm = await loadModelRef(ref, v.size as number | undefined);
  const bar = ctx.bar(command);
  const summary = await ds
    .extractToStore(lm.model, args.positionals, {
      store: v.store as string,
      table,
      modelName: ref.name,
      layer: v.layer as string | undefined,
      ...(lm.size !== undefined ? { size: lm.size } : {}),
      batchSize: (v.batch as number | undefined) ?? 32,
      ...(method
        ? { attribution: { method, ...(attributionLayer ? { layer: attributionLayer } : {}) } }
        : {}),
      signal: ctx.signal,
      onProgress: (p) => bar.update(p.done, p.total, rateNote(p)),
    })
    .finally(() => bar.done());
  const rate = summary.added / Math.max(summary.seconds, 1e-9);
  return {
    summary,
    lines: [
      `${summary.added} images stored in ${summary.store} table ${summary.table} (${summary.skipped} already there; ${summary.rows} rows) in ${summary.seconds.toFixed(1)} s, ${rate.toFixed(1)} img/s`,
    ],
    json: { command, model: ref.name, backend: backend.name, layer: v.layer ?? 'logits', ...summary },
  };
}
