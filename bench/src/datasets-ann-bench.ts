/**
 * @cnnviz/datasets approximate neighbours (issue 19 targets, Node, 2 cores):
 *   1,000,000 x 128 clustered vectors and 100,000 x 1,280 CNN features: recall@10 >= 0.95 against
 *   exact search, p50 query <= 20 ms; index build time reported.
 *
 *   cd bench && npx tsx --tsconfig ../tsconfig.json src/datasets-ann-bench.ts [--n 1000000] [--d 128]
 *        [--clusters 1000] [--queries 200] [--store /tmp/ann-store] [--table NAME] [--partitions P]
 *        [--settings 16x5,32x10,64x20] [--intrinsic 0|k] [--subvectors m] [--reuse-index]
 *
 * Without --table, writes `--n` seeded clustered vectors into a fresh table; with --table, searches
 * an existing feature table (e.g. one `datasets-stream-bench.ts --model mobilenet-v2` wrote), with
 * queries drawn from its own rows (each query's own row left out). Ground truth: @cnnviz/embedding's
 * exact `knn` on the same vectors in memory. Each setting is nprobes x refineFactor. Queries go through
 * one `storeKnn` call each setting; a query's latency is the time from the previous one's end.
 */
import { loadavg } from 'node:os';
import { rmSync } from 'node:fs';
import { knn } from '../../packages/embedding/src/index.js';
import { initBackend } from '../../packages/node-adapter/src/index.js';
import { appendRows, openOrCreate, openTable, type TableMeta } from '../../packages/datasets/src/store.js';
import { buildVectorIndex, storeKnn } from '../../packages/datasets/src/store-knn.js';

export interface AnnBenchOptions {
  n: number;
  d: number;
  clusters: number;
  queries: number;
  store: string;
  table?: string;
  partitions?: number;
  subVectors?: number;
  /** 0: isotropic Gaussian clusters; k > 0: each cluster spread along its own k directions (low intrinsic dimension, as CNN features). */
  intrinsic: number;
  /** Keep the table's index when it has one (measure queries only). */
  reuseIndex?: boolean;
  settings: [number, number][];
}

export interface AnnBenchResult {
  n: number;
  d: number;
  source: string;
  writeSeconds?: number;
  buildSeconds: number;
  exactSecondsPerQuery: number;
  settings: { nprobes: number; refineFactor: number; recall10: number; p50ms: number; p95ms: number }[];
  load: number[];
}

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}

/**
 * Gaussian clusters: `clusters` centres in [-1, 1]^d. Isotropic (`intrinsic` 0): points at sigma
 * 0.15 around them, where in 128-D every point of a cluster is almost equally far from every other
 * (the hardest case for any index). With `intrinsic` k: spread 0.3 along k random directions per
 * cluster plus 0.02 isotropic noise, closer to CNN features (Box–Muller normals).
 */
function clusteredRows(
  n: number,
  d: number,
  clusters: number,
  seed: number,
  intrinsic: number,
): Float32Array {
  const u = lcg(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
  const c = lcg(12345);
  const cg = () => Math.sqrt(-2 * Math.log(c() + 1e-12)) * Math.cos(2 * Math.PI * c());
  const centres = Float32Array.from({ length: clusters * d }, () => c() * 2 - 1);
  const bases =
    intrinsic > 0
      ? Float32Array.from({ length: clusters * intrinsic * d }, () => cg() / Math.sqrt(d))
      : undefined;
  const out = new Float32Array(n * d);
  const z = new Float32Array(intrinsic);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(u() * clusters);
    if (!bases) {
      for (let j = 0; j < d; j++) out[i * d + j] = centres[k * d + j] + 0.15 * gauss();
      continue;
    }
    for (let t = 0; t < intrinsic; t++) z[t] = 0.3 * gauss();
    for (let j = 0; j < d; j++) {
      let v = centres[k * d + j] + 0.02 * gauss();
      for (let t = 0; t < intrinsic; t++) v += z[t] * bases[(k * intrinsic + t) * d + j] * Math.sqrt(d);
      out[i * d + j] = v;
    }
  }
  return out;
}

const rowsOf = (data: Float32Array, n: number, d: number) =>
  Array.from({ length: n }, (_, i) => data.subarray(i * d, (i + 1) * d));

export async function annBench(o: AnnBenchOptions): Promise<AnnBenchResult> {
  const load = [loadavg()[0]];
  let table = o.table;
  let all: Float32Array[];
  let queries: Float32Array[];
  let selfIds: number[] | undefined;
  let writeSeconds: number | undefined;
  let n = o.n;
  let d = o.d;
  if (!table) {
    table = `clustered_${o.n}x${o.d}_i${o.intrinsic}`;
    rmSync(`${o.store}/${table}.lance`, { recursive: true, force: true });
    const meta: TableMeta = { model: 'synthetic', layer: 'clustered', dims: o.d };
    const t = await openOrCreate({ store: o.store, table }, meta);
    const data = clusteredRows(o.n, o.d, o.clusters, 1, o.intrinsic);
    all = rowsOf(data, o.n, o.d);
    const start = performance.now();
    for (let i = 0; i < o.n; i += 50_000) {
      const rows = all.slice(i, i + 50_000).map((vector, j) => ({
        id: i + j,
        path: `v${i + j}`,
        label: null,
        model: 'synthetic',
        layer: 'clustered',
        time: 0,
        prediction: 0,
        probability: 1,
        vector,
      }));
      await appendRows(t, rows, meta);
    }
    writeSeconds = (performance.now() - start) / 1000;
    queries = rowsOf(clusteredRows(o.queries, o.d, o.clusters, 99, o.intrinsic), o.queries, o.d);
  } else {
    const t = (await openTable({ store: o.store, table }))!;
    n = await t.countRows();
    const byId: Float32Array[] = new Array(n);
    for await (const b of t.query().select(['id', 'vector'])) {
      for (let i = 0; i < b.numRows; i++)
        byId[Number(b.getChild('id')!.get(i))] = Float32Array.from(
          (b.getChild('vector')!.get(i) as { toArray(): Float32Array }).toArray(),
        );
    }
    all = byId;
    d = all[0].length;
    const pick = lcg(7);
    selfIds = Array.from({ length: o.queries }, () => Math.floor(pick() * n));
    queries = selfIds.map((i) => all[i]);
  }
  console.log(
    `${n} x ${d} in ${o.store}/${table}${writeSeconds ? `, written in ${writeSeconds.toFixed(1)} s` : ''}`,
  );

  // Exact ground truth in memory (k + 1 with self queries, then the query's own row dropped).
  const start = performance.now();
  const exact = await knn(all, queries, { k: selfIds ? 11 : 10 });
  const exactSecondsPerQuery = (performance.now() - start) / 1000 / queries.length;
  const truth = exact.indices.map((ix, q) =>
    Array.from(ix)
      .filter((i) => !selfIds || i !== selfIds[q])
      .slice(0, 10),
  );
  all = [];
  console.log(`exact knn: ${(exactSecondsPerQuery * 1000).toFixed(1)} ms per query (batched, in memory)`);

  let buildSeconds = 0;
  const t = (await openTable({ store: o.store, table }))!;
  if (o.reuseIndex && (await t.listIndices()).some((i) => i.columns.includes('vector')))
    console.log('IVF-PQ index reused');
  else {
    buildSeconds = await buildVectorIndex({
      store: o.store,
      table,
      partitions: o.partitions,
      subVectors: o.subVectors,
    });
    console.log(`IVF-PQ index built in ${buildSeconds.toFixed(1)} s`);
  }
  const settings: AnnBenchResult['settings'] = [];
  for (const [nprobes, refineFactor] of o.settings) {
    // One call for all queries (the table opened once); each query timed from the previous one's end.
    const times: number[] = [];
    let last = performance.now();
    // Self queries (rows of the table): the row itself comes back too, so ask for 11 and drop it.
    const r = await storeKnn(queries, {
      store: o.store,
      table,
      k: selfIds ? 11 : 10,
      search: 'index',
      nprobes,
      refineFactor,
      onProgress: () => {
        const now = performance.now();
        times.push(now - last);
        last = now;
      },
    });
    let hit = 0;
    for (let q = 0; q < queries.length; q++) {
      const got = Array.from(r.indices[q])
        .filter((i) => !selfIds || i !== selfIds[q])
        .slice(0, 10);
      hit += got.filter((i) => truth[q].includes(i)).length;
    }
    times.sort((a, b) => a - b);
    const s = {
      nprobes,
      refineFactor,
      recall10: hit / (queries.length * 10),
      p50ms: times[Math.floor(times.length / 2)],
      p95ms: times[Math.floor(times.length * 0.95)],
    };
    settings.push(s);
    console.log(
      `nprobes ${nprobes} refine ${refineFactor}: recall@10 ${s.recall10.toFixed(3)}, p50 ${s.p50ms.toFixed(1)} ms, p95 ${s.p95ms.toFixed(1)} ms`,
    );
  }
  load.push(loadavg()[0]);
  console.log(`load average before/after: ${load.map((l) => l.toFixed(1)).join(' / ')} (2 cores)`);
  return {
    n,
    d,
    source: o.table ?? 'clustered',
    writeSeconds,
    buildSeconds,
    exactSecondsPerQuery,
    settings,
    load,
  };
}

if (process.argv[1]?.endsWith('datasets-ann-bench.ts')) {
  const argv = process.argv.slice(2);
  const get = (name: string, def?: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : def;
  };
  await initBackend({});
  const res = await annBench({
    n: Number(get('n', '1000000')),
    d: Number(get('d', '128')),
    clusters: Number(get('clusters', '1000')),
    queries: Number(get('queries', '200')),
    store: get('store', '/tmp/cnnviz-ann-store')!,
    table: get('table'),
    partitions: get('partitions') ? Number(get('partitions')) : undefined,
    subVectors: get('subvectors') ? Number(get('subvectors')) : undefined,
    intrinsic: Number(get('intrinsic', '0')),
    reuseIndex: argv.includes('--reuse-index'),
    settings: (get('settings', '16x5,32x10,64x20') as string)
      .split(',')
      .map((s) => s.split('x').map(Number) as [number, number]),
  });
  console.log(JSON.stringify(res));
  process.exit(0);
}
