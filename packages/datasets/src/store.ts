import { createRequire } from 'node:module';
import * as lancedb from '@lancedb/lancedb';
import type * as Arrow from 'apache-arrow';
import { CnnvizError } from '@cnnviz/core';

/** Where a run's rows live: a LanceDB database (a local folder or any LanceDB URI) and a table. */
export interface StoreRef {
  /** A folder (default `./cnnviz-store`) or a LanceDB URI such as `s3://bucket/prefix`. */
  store?: string;
  /** The run's name: one table per model and layer. */
  table: string;
  /** Passed to LanceDB's `connect` (object-store credentials, endpoints). */
  storageOptions?: Record<string, string>;
}

export const DEFAULT_STORE = './cnnviz-store';

// LanceDB is CommonJS and tests `instanceof` against the CommonJS build of apache-arrow; an ESM
// import would load a second copy whose tables it would not recognise, so use that same build.
export const arrow = createRequire(import.meta.url)('apache-arrow') as typeof Arrow;

/** One stored image: what a run appends per image (column names of the table). */
export interface FeatureRow {
  /** Dense row number 0..N-1, assigned by the table's single writer; the `indices` of `storeKnn`. */
  id: number;
  path: string;
  label: string | null;
  model: string;
  layer: string;
  /** Milliseconds since 1970 when the row was computed. */
  time: number;
  /** Predicted class (argmax of the logits) and its softmax probability. */
  prediction: number;
  probability: number;
  vector: Float32Array;
  /** With an attribution: the map, row-major `attributionShape` (table metadata). */
  attribution?: Float32Array;
}

const connections = new Map<string, Promise<lancedb.Connection>>();

/** One connection per URI and process. */
export function connect(ref: Pick<StoreRef, 'store' | 'storageOptions'>): Promise<lancedb.Connection> {
  const uri = ref.store ?? DEFAULT_STORE;
  let c = connections.get(uri);
  if (!c) {
    c = lancedb.connect(uri, ref.storageOptions ? { storageOptions: ref.storageOptions } : {});
    connections.set(uri, c);
    c.catch(() => connections.delete(uri));
  }
  return c;
}

/** What a table holds, written into its schema metadata when it is created. */
export interface TableMeta {
  model: string;
  layer: string;
  dims: number;
  attribution?: { method: string; layer?: string; shape: number[] };
}

const vectorOf = (n: number) =>
  new arrow.FixedSizeList(n, new arrow.Field('item', new arrow.Float32(), true));

export function featureSchema(meta: TableMeta): Arrow.Schema {
  const fields = [
    new arrow.Field('id', new arrow.Int64(), false),
    new arrow.Field('path', new arrow.Utf8(), false),
    new arrow.Field('label', new arrow.Utf8(), true),
    new arrow.Field('model', new arrow.Utf8(), false),
    new arrow.Field('layer', new arrow.Utf8(), false),
    new arrow.Field('time', new arrow.Float64(), false),
    new arrow.Field('prediction', new arrow.Int32(), false),
    new arrow.Field('probability', new arrow.Float32(), false),
    new arrow.Field('vector', vectorOf(meta.dims), false),
  ];
  if (meta.attribution) {
    const size = meta.attribution.shape.reduce((a, b) => a * b, 1);
    fields.push(new arrow.Field('attribution', vectorOf(size), false));
  }
  return new arrow.Schema(fields, new Map([['cnnviz', JSON.stringify(meta)]]));
}

/** The metadata of a table written by cnnviz, or undefined for another table. */
export async function tableMeta(table: lancedb.Table): Promise<TableMeta | undefined> {
  const schema = await table.schema();
  const raw = schema.metadata.get('cnnviz');
  return raw ? (JSON.parse(raw) as TableMeta) : undefined;
}

export async function openTable(ref: StoreRef): Promise<lancedb.Table | undefined> {
  const db = await connect(ref);
  if (!(await db.tableNames()).includes(ref.table)) return undefined;
  return db.openTable(ref.table);
}

/**
 * Opens `ref.table`, creating it for `meta` when missing. A table made for another model, layer
 * or attribution is BAD_OPTION: one table holds one kind of row, so a rerun resumes it.
 */
export async function openOrCreate(ref: StoreRef, meta: TableMeta): Promise<lancedb.Table> {
  const db = await connect(ref);
  const table = await db.createEmptyTable(ref.table, featureSchema(meta), { existOk: true });
  await checkMeta(table, ref, meta);
  return table;
}

/** Checks before any work that an existing table was made by the same model, layer and attribution. */
export async function checkTableFor(
  table: lancedb.Table,
  ref: StoreRef,
  spec: { modelName: string; layer?: string; attribution?: { method: string; layer?: string } },
): Promise<void> {
  await checkMeta(table, ref, {
    model: spec.modelName,
    layer: spec.layer ?? 'logits',
    ...(spec.attribution ? { attribution: { ...spec.attribution, shape: [] } } : {}),
  });
}

async function checkMeta(table: lancedb.Table, ref: StoreRef, meta: Partial<TableMeta>): Promise<void> {
  const have = await tableMeta(table);
  const attr = (a?: TableMeta['attribution']) =>
    a ? JSON.stringify([a.method, a.layer ?? null, meta.dims === undefined ? [] : a.shape]) : null;
  const same =
    have !== undefined &&
    have.model === meta.model &&
    have.layer === meta.layer &&
    (meta.dims === undefined || have.dims === meta.dims) &&
    attr(have.attribution) === attr(meta.attribution);
  if (!same) {
    const what = have
      ? `model ${have.model}, layer ${have.layer} (${have.dims} values${have.attribution ? `, ${have.attribution.method}` : ''})`
      : 'rows cnnviz did not write';
    throw new CnnvizError(
      'BAD_OPTION',
      `table "${ref.table}" in ${ref.store ?? DEFAULT_STORE} holds ${what}; give this run another --table`,
    );
  }
}

/** Every path stored in `table` (the resume key), read one column at a time. */
export async function storedPaths(table: lancedb.Table | undefined): Promise<Set<string>> {
  const out = new Set<string>();
  if (!table) return out;
  for await (const batch of table.query().select(['path'])) {
    const col = batch.getChild('path')!;
    for (let i = 0; i < batch.numRows; i++) out.add(col.get(i) as string);
  }
  return out;
}

/** Appends rows in one LanceDB commit: all of them become visible, or (killed before) none. */
export async function appendRows(table: lancedb.Table, rows: FeatureRow[], meta: TableMeta): Promise<void> {
  if (rows.length === 0) return;
  await table.add(toArrow(rows, meta));
}

/** Rows as one Arrow record batch, built column by column (vectors copied once into one buffer). */
function toArrow(rows: FeatureRow[], meta: TableMeta): Arrow.Table {
  // The table's metadata was written when it was created; appended data carries none.
  const schema = new arrow.Schema(featureSchema(meta).fields);
  const n = rows.length;
  const list = (name: 'vector' | 'attribution') => {
    const type = schema.fields.find((f) => f.name === name)!.type as Arrow.FixedSizeList;
    const d = type.listSize;
    const flat = new Float32Array(n * d);
    rows.forEach((r, i) => {
      const v = r[name]!;
      if (v.length !== d)
        throw new CnnvizError('BAD_INPUT', `${name} of ${r.path} has ${v.length} values, the table ${d}`);
      flat.set(v, i * d);
    });
    const child = arrow.makeData({ type: new arrow.Float32(), length: n * d, data: flat });
    return arrow.makeVector(arrow.makeData({ type, length: n, nullCount: 0, child }));
  };
  const columns: Record<string, Arrow.Vector> = {
    id: arrow.vectorFromArray(BigInt64Array.from(rows, (r) => BigInt(r.id))),
    path: arrow.vectorFromArray(
      rows.map((r) => r.path),
      new arrow.Utf8(),
    ),
    label: arrow.vectorFromArray(
      rows.map((r) => r.label),
      new arrow.Utf8(),
    ),
    model: arrow.vectorFromArray(
      rows.map((r) => r.model),
      new arrow.Utf8(),
    ),
    layer: arrow.vectorFromArray(
      rows.map((r) => r.layer),
      new arrow.Utf8(),
    ),
    time: arrow.vectorFromArray(Float64Array.from(rows, (r) => r.time)),
    prediction: arrow.vectorFromArray(Int32Array.from(rows, (r) => r.prediction)),
    probability: arrow.vectorFromArray(Float32Array.from(rows, (r) => r.probability)),
    vector: list('vector'),
  };
  if (meta.attribution) columns.attribution = list('attribution');
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: n,
    nullCount: 0,
    children: schema.fields.map((f) => columns[f.name].data[0]),
  });
  return new arrow.Table(new arrow.RecordBatch(schema, data));
}
