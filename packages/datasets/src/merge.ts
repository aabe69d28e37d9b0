import type * as arrow from 'apache-arrow';
import { checkAborted } from '@cnnviz/core';
import { isWorkerTableOf } from './queue-names.js';
import {
  appendRows,
  connect,
  openOrCreate,
  storedPaths,
  tableMeta,
  type FeatureRow,
  type StoreRef,
} from './store.js';

export interface MergeSummary {
  /** Worker tables merged. */
  tables: number;
  /** Rows added to the main table. */
  added: number;
  /** Rows left out because their image was already stored (a retried or duplicated job). */
  duplicates: number;
}

function rowOf(batch: arrow.RecordBatch, i: number): Omit<FeatureRow, 'id'> {
  const col = (name: string) => batch.getChild(name);
  const vec = (name: string) => {
    const v = col(name)?.get(i) as { toArray(): Float32Array } | null;
    return v ? Float32Array.from(v.toArray()) : undefined;
  };
  const attribution = vec('attribution');
  return {
    path: col('path')!.get(i) as string,
    label: (col('label')!.get(i) as string | null) ?? null,
    model: col('model')!.get(i) as string,
    layer: col('layer')!.get(i) as string,
    time: col('time')!.get(i) as number,
    prediction: col('prediction')!.get(i) as number,
    probability: col('probability')!.get(i) as number,
    vector: vec('vector')!,
    ...(attribution ? { attribution } : {}),
  };
}

/**
 * Moves the rows of every worker table `<table>--w-*` into `<table>`, keeping the first row of
 * each image and numbering rows on from the table's size, then drops the worker tables (unless
 * `drop: false`: while workers may still write to them, only once every job is done). The main
 * table has this one writer, so it needs no commit coordination on any store; a merge killed
 * half-way is finished by the next (rows already merged are recognised by their path).
 */
export async function mergeWorkerTables(
  ref: StoreRef,
  options: { signal?: AbortSignal; chunk?: number; drop?: boolean } = {},
): Promise<MergeSummary> {
  const db = await connect(ref);
  const names = (await db.tableNames()).filter((n) => isWorkerTableOf(n, ref.table)).sort();
  const out: MergeSummary = { tables: 0, added: 0, duplicates: 0 };
  if (names.length === 0) return out;
  const chunk = options.chunk ?? 1024;
  let main = (await db.tableNames()).includes(ref.table) ? await db.openTable(ref.table) : undefined;
  const stored = await storedPaths(main);
  let next = main ? await main.countRows() : 0;
  for (const name of names) {
    const source = await db.openTable(name);
    const meta = await tableMeta(source);
    if (!meta) continue;
    main ??= await openOrCreate(ref, meta);
    let pending: FeatureRow[] = [];
    const flush = async () => {
      await appendRows(main!, pending, meta);
      out.added += pending.length;
      pending = [];
    };
    for await (const batch of source.query()) {
      checkAborted(options.signal, 'mergeWorkerTables');
      for (let i = 0; i < batch.numRows; i++) {
        const row = rowOf(batch, i);
        if (stored.has(row.path)) {
          out.duplicates++;
          continue;
        }
        stored.add(row.path);
        pending.push({ ...row, id: next++ });
        if (pending.length >= chunk) await flush();
      }
    }
    await flush();
    if (options.drop !== false) await db.dropTable(name);
    out.tables++;
  }
  return out;
}
