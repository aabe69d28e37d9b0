import { CnnvizError } from '@cnnviz/core';
import { arrow, connect, type StoreRef } from './store.js';

/** A 2-D map of a feature table: which table, and the map's name (one per method and settings). */
export interface MapRef extends StoreRef {
  /** For example `fitsne` or `umap`; letters, digits, `-` and `_`. */
  name: string;
}

/** How a map was made, kept in the map table's schema metadata. */
export interface MapMeta {
  method: string;
  /** Rows of the feature table the map covers (ids 0..n-1). */
  n: number;
  seed?: number;
  /** Anything else that reproduces it (perplexity, neighbours, iterations...). */
  params?: Record<string, number | string | boolean>;
}

/** A map read back: x and y indexed by the feature table's row id. */
export interface StoredMap {
  meta: MapMeta;
  x: Float32Array;
  y: Float32Array;
}

/**
 * The map table of `ref.table`: `<table>__map_<name>`, columns `id` (Int64, the feature row's id),
 * `x`, `y` (Float32). A sibling table rather than new columns, so a map can be remade without
 * rewriting the vectors, and several maps of one table can live side by side.
 */
export function mapTableName(ref: MapRef): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(ref.name))
    throw new CnnvizError('BAD_OPTION', `map name "${ref.name}": expected 1-64 letters, digits, - or _`);
  return `${ref.table}__map_${ref.name}`;
}

/**
 * Writes a map: `coords` holds x, y interleaved for ids 0..n-1. The table is replaced in one
 * LanceDB commit, so a reader sees the old map or the new one, never half of each.
 */
export async function writeMap(ref: MapRef, coords: Float32Array, meta: Omit<MapMeta, 'n'>): Promise<void> {
  if (coords.length % 2 !== 0)
    throw new CnnvizError('BAD_INPUT', `map coordinates: expected x, y pairs, got ${coords.length} values`);
  const n = coords.length / 2;
  const full: MapMeta = { ...meta, n };
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = coords[2 * i];
    y[i] = coords[2 * i + 1];
  }
  const schema = new arrow.Schema(
    [
      new arrow.Field('id', new arrow.Int64(), false),
      new arrow.Field('x', new arrow.Float32(), false),
      new arrow.Field('y', new arrow.Float32(), false),
    ],
    new Map([['cnnviz-map', JSON.stringify(full)]]),
  );
  const ids = new BigInt64Array(n);
  for (let i = 0; i < n; i++) ids[i] = BigInt(i);
  const data = arrow.makeData({
    type: new arrow.Struct(schema.fields),
    length: n,
    nullCount: 0,
    children: [arrow.makeVector(ids), arrow.makeVector(x), arrow.makeVector(y)].map((v) => v.data[0]),
  });
  const db = await connect(ref);
  await db.createTable(mapTableName(ref), new arrow.Table(new arrow.RecordBatch(schema, data)), {
    mode: 'overwrite',
  });
}

/** Reads a map written by `writeMap`, or undefined when the table has no map of that name. */
export async function readMap(ref: MapRef): Promise<StoredMap | undefined> {
  const name = mapTableName(ref);
  const db = await connect(ref);
  if (!(await db.tableNames()).includes(name)) return undefined;
  const table = await db.openTable(name);
  const raw = (await table.schema()).metadata.get('cnnviz-map');
  if (!raw) throw new CnnvizError('BAD_INPUT', `table "${name}" was not written by cnnviz's writeMap`);
  const meta = JSON.parse(raw) as MapMeta;
  const x = new Float32Array(meta.n);
  const y = new Float32Array(meta.n);
  for await (const batch of table.query().select(['id', 'x', 'y'])) {
    const id = batch.getChild('id')!;
    const bx = batch.getChild('x')!;
    const by = batch.getChild('y')!;
    for (let i = 0; i < batch.numRows; i++) {
      const r = Number(id.get(i));
      x[r] = bx.get(i) as number;
      y[r] = by.get(i) as number;
    }
  }
  return { meta, x, y };
}
