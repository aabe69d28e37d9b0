import { checkAborted, CnnvizError } from '@cnnviz/core';
import { zooEntries, type ZooEntry } from '@cnnviz/models';
import { readMap, mapTableName, type MapMeta, type MapRef } from './map-table.js';
import { DEFAULT_STORE, openTable, tableMeta } from './store.js';

/** Category index of a row without a label (folder-less images, manifests without labels). */
export const NO_CATEGORY = 0xffff;

/** Everything the map viewer shows, read once from the store: the map and a few columns per row. */
export interface MapData {
  table: string;
  name: string;
  meta: MapMeta;
  n: number;
  x: Float32Array;
  y: Float32Array;
  /** Index into `labels`, `NO_CATEGORY` for none. */
  label: Uint16Array;
  /** Index into `classes` (the stored argmax). */
  prediction: Uint16Array;
  probability: Float32Array;
  paths: string[];
  /** The distinct labels, sorted. */
  labels: string[];
  /** Names of the prediction indices: the model's class names when known, else `class <i>`. */
  classes: string[];
  model: string;
  layer: string;
}

/** Which map to read (store, table, map name), and how to name the predicted classes. */
export interface LoadMapDataOptions extends MapRef {
  /** Names of the predicted classes; default: the zoo model's labels when the table's model is one. */
  classNames?: string[];
  /** Stops reading the rows (ABORTED). */
  signal?: AbortSignal;
}

/** The `cnnviz map make` line that makes a missing map (the error tells the user what to run). */
export function makeMapCommand(ref: MapRef): string {
  const store = ref.store && ref.store !== DEFAULT_STORE ? ` --store ${ref.store}` : '';
  return `cnnviz map make --table ${ref.table}${store} --name ${ref.name}`;
}

// Zoo entries are named fashionCnn; tables record the CLI's fashion-cnn.
const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function zooLabels(model: string): string[] | undefined {
  return (Object.values(zooEntries) as ZooEntry[]).find((e) => e.name === model || kebab(e.name) === model)
    ?.labels;
}

/**
 * Reads a map and the rows it covers (path, label, prediction, probability; never the vectors) into
 * typed arrays indexed by row id. A missing table or map is BAD_INPUT naming the command that makes it.
 */
export async function loadMapData(options: LoadMapDataOptions): Promise<MapData> {
  const where = options.store ?? DEFAULT_STORE;
  const table = await openTable(options);
  if (!table)
    throw new CnnvizError(
      'BAD_INPUT',
      `no table "${options.table}" in ${where}: store features first (cnnviz extract <images> --table ${options.table}), then ${makeMapCommand(options)}`,
    );
  const map = await readMap(options);
  if (!map)
    throw new CnnvizError(
      'BAD_INPUT',
      `table "${options.table}" in ${where} has no map "${options.name}" (no table ${mapTableName(options)}): make it with ${makeMapCommand(options)}`,
    );
  const n = map.meta.n;
  const rows = await table.countRows();
  if (rows !== n)
    throw new CnnvizError(
      'BAD_INPUT',
      `map "${options.name}" covers ${n} rows, table "${options.table}" has ${rows}: remake it with ${makeMapCommand(options)}`,
    );
  const meta = await tableMeta(table);
  const labelOf = new Map<string, number>();
  const rawLabel = new Int32Array(n).fill(-1);
  const prediction = new Uint16Array(n);
  const probability = new Float32Array(n);
  const paths: string[] = new Array<string>(n);
  const seen = new Uint8Array(n);
  let maxClass = -1;
  for await (const batch of table.query().select(['id', 'path', 'label', 'prediction', 'probability'])) {
    checkAborted(options.signal, 'loadMapData');
    const id = batch.getChild('id')!;
    const path = batch.getChild('path')!;
    const label = batch.getChild('label')!;
    const pred = batch.getChild('prediction')!;
    const prob = batch.getChild('probability')!;
    for (let i = 0; i < batch.numRows; i++) {
      const r = Number(id.get(i));
      if (!(r >= 0 && r < n) || seen[r])
        throw new CnnvizError('BAD_INPUT', `row ids of "${options.table}" are not 0..${n - 1}`);
      seen[r] = 1;
      paths[r] = path.get(i) as string;
      const l = label.get(i) as string | null;
      if (l !== null) {
        let k = labelOf.get(l);
        if (k === undefined) labelOf.set(l, (k = labelOf.size));
        rawLabel[r] = k;
      }
      const p = pred.get(i) as number;
      prediction[r] = p;
      if (p > maxClass) maxClass = p;
      probability[r] = prob.get(i) as number;
    }
  }
  if (labelOf.size >= NO_CATEGORY)
    throw new CnnvizError(
      'BAD_INPUT',
      `"${options.table}" has ${labelOf.size} labels; the viewer shows < 65535`,
    );
  // Sorted labels, so colours do not depend on the order rows were stored in.
  const labels = [...labelOf.keys()].sort();
  const rank = new Int32Array(labelOf.size);
  labels.forEach((l, i) => (rank[labelOf.get(l)!] = i));
  const label = new Uint16Array(n);
  for (let i = 0; i < n; i++) label[i] = rawLabel[i] < 0 ? NO_CATEGORY : rank[rawLabel[i]];
  const names = options.classNames ?? zooLabels(meta?.model ?? '') ?? [];
  const classes = Array.from({ length: Math.max(maxClass + 1, 0) }, (_, i) => names[i] ?? `class ${i}`);
  return {
    table: options.table,
    name: options.name,
    meta: map.meta,
    n,
    x: map.x,
    y: map.y,
    label,
    prediction,
    probability,
    paths,
    labels,
    classes,
    model: meta?.model ?? 'unknown',
    layer: meta?.layer ?? 'unknown',
  };
}
