/**
 * Map quality on Fashion-MNIST's 70k images (issue 20): trustworthiness(10) on a seeded 10k sample of
 * the FIt-SNE and UMAP maps that `storeMap` / `cnnviz map make` wrote, against exact-neighbour
 * Barnes–Hut t-SNE (the existing `tsne`) on the same 70k feature vectors. Target: within 0.01.
 *
 *   cnnviz extract /work/data/fashion-png -m fashion-cnn --layer dense1 --store S --table fashion
 *   cnnviz map make --store S --table fashion --method fitsne   (and --method umap)
 *   cd bench && npx tsx --tsconfig ../tsconfig.json src/map-quality-bench.ts --store S [--table fashion] [--sample 10000]
 */
import { loadavg } from 'node:os';
import { trustworthiness, tsne } from '../../packages/embedding/src/index.js';
import { readMap } from '../../packages/datasets/src/map-table.js';
import { openTable } from '../../packages/datasets/src/store.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const store = arg('store', '/work/data/fashion-store');
const table = arg('table', 'fashion');
const sample = Number(arg('sample', '10000'));

const t = await openTable({ store, table });
if (!t) throw new Error(`no table ${table} in ${store}`);
const n = await t.countRows();
const rows: Float32Array[] = new Array(n);
for await (const b of t.query().select(['id', 'vector'])) {
  const id = b.getChild('id')!;
  const v = b.getChild('vector')!;
  for (let r = 0; r < b.numRows; r++)
    rows[Number(id.get(r))] = Float32Array.from((v.get(r) as { toArray(): Float32Array }).toArray());
}
// A seeded sample (partial Fisher–Yates).
let s = 12345;
const u = () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
const perm = Int32Array.from({ length: n }, (_, i) => i);
for (let i = 0; i < sample; i++) {
  const j = i + Math.floor(u() * (n - i));
  [perm[i], perm[j]] = [perm[j], perm[i]];
}
const ids = perm.slice(0, sample);
const high = Array.from(ids, (i) => rows[i]);
const score = (y: ArrayLike<number>[]) =>
  trustworthiness(
    high,
    Array.from(ids, (i) => y[i]),
    10,
  );

const out: Record<string, unknown> = { n, sample, load: loadavg().map((v) => +v.toFixed(2)) };
for (const name of ['fitsne', 'umap']) {
  const m = await readMap({ store, table, name });
  if (!m) continue;
  out[name] = await score(Array.from({ length: n }, (_, i) => [m.x[i], m.y[i]]));
}
const c0 = process.cpuUsage();
const w0 = performance.now();
const bh = await tsne(rows, { seed: 0, neighbors: 'knn' });
const c = process.cpuUsage(c0);
out.barnesHut = await score(bh);
out.barnesHutSeconds = { wall: (performance.now() - w0) / 1000, cpu: (c.user + c.system) / 1e6 };
out.loadAfter = loadavg().map((v) => +v.toFixed(2));
console.log(JSON.stringify(out));
