/**
 * Maps of 10^5..10^6 points (issue 20 targets, Node, 2 cores): 1,000,000 x 50 -> 2-D in <= 20 min
 * with peak RSS <= 6 GB, 100,000 in <= 2 min, for FIt-SNE and UMAP, timed from the LanceDB table to
 * the written map and split into read / graph / affinities / optimisation / write.
 *
 *   cd bench && npx tsx --tsconfig ../tsconfig.json src/map-bench.ts --n 100000 --method fitsne
 *        [--d 50] [--clusters 100] [--store /tmp/map-bench] [--seed 0] [--recall 10000] [--bh]
 *
 * Writes `--n` seeded clustered vectors (low intrinsic dimension per cluster, as CNN features) to a
 * table `synthetic-<n>x<d>` unless it is there, then runs one `storeMap`. One method per process, so
 * the peak RSS (getrusage maxrss) is that method's. CPU time is user + system of every thread.
 * `--recall Q`: instead of a map, the neighbour graph's recall@k against exact kNN on Q rows.
 * `--bh`: Barnes–Hut t-SNE (the existing `tsne`) on the same vectors instead, for comparison.
 */
import { loadavg } from 'node:os';
import { graphRecall, knn, knnGraph, tsne } from '../../packages/embedding/src/index.js';
import { appendRows, openOrCreate, openTable, type FeatureRow } from '../../packages/datasets/src/store.js';
import { storeMap } from '../../packages/datasets/src/store-map.js';

function arg(name: string, def?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? 'true') : def;
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/** Row i of the synthetic set: cluster centre + a 5-D spread along the cluster's own directions + noise. */
function synthetic(n: number, d: number, clusters: number, seed: number): Float32Array {
  const u = lcg(seed);
  const g = () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
  const intrinsic = 5;
  const centres = Float32Array.from({ length: clusters * d }, () => 4 * g());
  const bases = Float32Array.from({ length: clusters * intrinsic * d }, () => g());
  const out = new Float32Array(n * d);
  const z = new Float32Array(intrinsic);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(u() * clusters);
    for (let t = 0; t < intrinsic; t++) z[t] = g();
    for (let j = 0; j < d; j++) {
      let v = centres[k * d + j] + 0.3 * g();
      for (let t = 0; t < intrinsic; t++) v += z[t] * bases[(k * intrinsic + t) * d + j];
      out[i * d + j] = v;
    }
  }
  return out;
}

const n = Number(arg('n', '100000'));
const d = Number(arg('d', '50'));
const clusters = Number(arg('clusters', '100'));
const seed = Number(arg('seed', '0'));
const store = arg('store', '/tmp/map-bench')!;
const method = arg('method', 'fitsne') as 'fitsne' | 'umap';
const table = `synthetic-${n}x${d}`;

async function ensureTable(): Promise<Float32Array> {
  const data = synthetic(n, d, clusters, seed);
  const existing = await openTable({ store, table });
  if (existing && (await existing.countRows()) === n) return data;
  const meta = { model: 'synthetic', layer: `clusters${clusters}`, dims: d };
  const t = await openOrCreate({ store, table }, meta);
  for (let s = 0; s < n; s += 10_000) {
    const rows: FeatureRow[] = [];
    for (let i = s; i < Math.min(n, s + 10_000); i++)
      rows.push({
        id: i,
        path: `synthetic/${i}`,
        label: null,
        model: 'synthetic',
        layer: meta.layer,
        time: 0,
        prediction: 0,
        probability: 1,
        vector: data.subarray(i * d, (i + 1) * d),
      });
    await appendRows(t, rows, meta);
  }
  return data;
}

const t0 = performance.now();
const data = await ensureTable();
const writeSeconds = (performance.now() - t0) / 1000;
const load0 = loadavg();
const cpu0 = process.cpuUsage();
const w0 = performance.now();
let result: Record<string, unknown>;
if (arg('recall')) {
  const q = Number(arg('recall'));
  const rows = Array.from({ length: n }, (_, i) => data.subarray(i * d, (i + 1) * d));
  const k = 90;
  const g = await knnGraph(rows, { k, seed, method: 'ivf' });
  const graphSeconds = (performance.now() - w0) / 1000;
  const u = lcg(seed + 1);
  const ids = Int32Array.from({ length: q }, () => Math.floor(u() * n));
  const ex = await knn(
    rows,
    Array.from(ids, (i) => rows[i]),
    { k: k + 1 },
  );
  const exact = new Int32Array(q * k);
  ids.forEach((i, r) =>
    exact.set(
      Array.from(ex.indices[r])
        .filter((j) => j !== i)
        .slice(0, k),
      r * k,
    ),
  );
  result = {
    recall90: graphRecall(g, exact, ids),
    recall15: graphRecall(g, exact, ids, 15),
    graphSeconds,
    queries: q,
  };
} else if (arg('bh')) {
  const rows = Array.from({ length: n }, (_, i) => data.subarray(i * d, (i + 1) * d));
  let timings: unknown;
  await tsne(rows, { seed, onProgress: (s) => s.timings && (timings = s.timings), reportEvery: 1000 });
  result = { method: 'barnes-hut', timings };
} else {
  let last = 0;
  const s = await storeMap({
    store,
    table,
    method,
    seed,
    onProgress: (p) => {
      const now = performance.now();
      if (now - last > 30_000) {
        last = now;
        console.error(
          `${new Date().toISOString()} ${p.phase} ${p.done}/${p.total} load ${loadavg()[0].toFixed(1)}`,
        );
      }
    },
  });
  result = { ...s };
}
const cpu = process.cpuUsage(cpu0);
console.log(
  JSON.stringify({
    n,
    d,
    clusters,
    ...result,
    wallSeconds: (performance.now() - w0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssGB: process.resourceUsage().maxRSS / 1024 ** 2,
    tableWriteSeconds: writeSeconds,
    loadBefore: load0.map((v) => +v.toFixed(2)),
    loadAfter: loadavg().map((v) => +v.toFixed(2)),
  }),
);
