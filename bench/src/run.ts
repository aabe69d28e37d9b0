// npm run bench -- [--quick | --readme] [names...]: runs the named benchmarks or suites (all without names), each variant in
// its own process (so peak RSS is that variant's own), prints one table, and writes bench/results/<name>.json and the
// table in bench/results/README.md. --quick: cnnviz's variants only, on smaller problems, in one process; writes nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
// Dawn's adapter, asked in a child process (not public API: the bench reads the adapter's source).
import { probeDawn } from '../../packages/node-adapter/src/webgpu.js';
import { BENCHMARKS } from './benchmarks/index.js';
import type { Benchmark, Measurement } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, '..', 'results');

interface Result {
  name: string;
  suite: string;
  description: string;
  date: string;
  machine: { cpus: number; model: string; node: string; loadavgBefore: number[]; loadavgAfter: number[] };
  cnnviz: Measurement;
  extras: Measurement[];
  stock: Measurement[];
  /** The stock measurement compared against (the first that ran) and a note on what it is. */
  stockUsed?: { label: string; note: string };
  speedup?: number;
  speedupCpu?: number;
  reference?: Benchmark['reference'];
  targets?: Benchmark['targets'];
  targetsMet?: Record<string, boolean>;
}

/** Runs `which` of the named benchmarks in one worker process; a result per name. */
function runVariants(names: string[], which: string): Map<string, Measurement> {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(here, 'worker.ts'), which, names.join(',')],
    {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      cwd: join(here, '..'),
      // @cnnviz/* resolve to the packages' sources through the root tsconfig's paths (no build needed).
      env: { ...process.env, TSX_TSCONFIG_PATH: join(here, '..', '..', 'tsconfig.json') },
    },
  );
  const out = new Map<string, Measurement>();
  for (const line of (r.stdout ?? '').split('\n')) {
    const m = /^RESULT (\S+) (\S+) (.*)$/.exec(line);
    if (m) out.set(m[1], JSON.parse(m[3]) as Measurement);
  }
  const failed = (r.stdout ?? '').split('\n').find((l) => l.startsWith('FAILED '));
  const tail = failed?.slice(7) ?? `${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
  for (const name of names) {
    if (!out.has(name))
      out.set(name, {
        label: which,
        backend: '?',
        fixes: false,
        ok: false,
        error: tail || `exit ${r.status}`,
        warmup: 0,
        iterations: 0,
      });
  }
  return out;
}

function runVariant(name: string, which: string): Measurement {
  return runVariants([name], which).get(name)!;
}

const fmt = (v: number | undefined, d = 0) => (v === undefined ? '–' : v.toFixed(d));

function machine(loadavgBefore: number[]): Result['machine'] {
  return {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? '?',
    node: process.version,
    loadavgBefore,
    loadavgAfter: loadavg(),
  };
}

/** Full run: every variant in its own process; stock variants in order until one runs. */
function runBenchmark(b: Benchmark): Result {
  const loadavgBefore = loadavg();
  console.log(`\n== ${b.name}: ${b.description}`);
  const cnnviz = runVariant(b.name, 'cnnviz');
  report(cnnviz);
  const extras = (b.extras ?? []).map((_, i) => {
    const m = runVariant(b.name, `extra${i}`);
    report(m);
    return m;
  });
  const stock: Measurement[] = [];
  for (let i = 0; i < b.stock.length; i++) {
    const m = runVariant(b.name, String(i));
    report(m);
    stock.push(m);
    if (m.ok) break;
  }
  return result(b, cnnviz, extras, stock, loadavgBefore);
}

function result(
  b: Benchmark,
  cnnviz: Measurement,
  extras: Measurement[],
  stock: Measurement[],
  loadavgBefore: number[],
): Result {
  const used = stock.find((m) => m.ok);
  const failed = stock.filter((m) => !m.ok);
  const r: Result = {
    name: b.name,
    suite: b.suite,
    description: b.description,
    date: new Date().toISOString(),
    machine: machine(loadavgBefore),
    cnnviz,
    extras,
    stock,
    reference: b.reference,
    targets: b.targets,
  };
  if (used !== undefined) {
    const note =
      failed.length > 0
        ? `${failed.map((f) => f.label).join(', ')} failed (${failed.map((f) => f.error).join('; ')}); compared with ${used.label}`
        : `compared with ${used.label}`;
    r.stockUsed = { label: used.label, note: used.note ? `${note} (${used.note})` : note };
    if (cnnviz.ok && used.medianMs !== undefined && cnnviz.medianMs !== undefined) {
      r.speedup = used.medianMs / cnnviz.medianMs;
      r.speedupCpu = (used.medianCpuMs ?? NaN) / (cnnviz.medianCpuMs ?? NaN);
    }
  }
  const t = b.targets;
  // --quick measures smaller problems: the targets do not apply.
  if (t !== undefined && cnnviz.ok && process.env.BENCH_QUICK !== '1') {
    r.targetsMet = {};
    if (t.medianMs !== undefined)
      r.targetsMet[`median ≤ ${t.medianMs} ms`] = (cnnviz.medianMs ?? Infinity) <= t.medianMs;
    if (t.speedupVsStock !== undefined && used !== undefined)
      r.targetsMet[`≥ ${t.speedupVsStock}x stock`] = (r.speedup ?? 0) >= t.speedupVsStock;
  }
  return r;
}

/** --quick: every cnnviz variant, grouped by backend set-up, one process a group. */
function runQuick(chosen: Benchmark[]): Result[] {
  const loadavgBefore = loadavg();
  const groups = new Map<string, Benchmark[]>();
  for (const b of chosen) {
    const key = `${b.cnnviz.backend}/${b.cnnviz.fixes}`;
    groups.set(key, [...(groups.get(key) ?? []), b]);
  }
  const results: Result[] = [];
  for (const [key, group] of groups) {
    console.log(
      `-- ${group.length} benchmark(s) on ${key.replace('/true', ' (cnnviz)').replace('/false', ' (stock)')} ...`,
    );
    const measured = runVariants(
      group.map((b) => b.name),
      'cnnviz',
    );
    for (const b of group) results.push(result(b, measured.get(b.name)!, [], [], loadavgBefore));
  }
  return results;
}

function report(m: Measurement): void {
  if (!m.ok) {
    console.log(`   ${m.label}: FAILED ${m.error}`);
    return;
  }
  console.log(
    `   ${m.label}: median ${fmt(m.medianMs)} ms (min ${fmt(m.minMs)}, max ${fmt(m.maxMs)}; cpu ${fmt(m.medianCpuMs)} ms), ` +
      `peak RSS ${fmt(m.peakRssMiB)} MiB, tensors ${m.tensorsBefore} → ${m.tensorsAfter}`,
  );
}

const TABLE_HEAD = `| benchmark | cnnviz ms | cnnviz cpu ms | stock ms | speed-up | peak RSS MiB cnnviz / stock | tensors | reference ms | targets met | load avg |
|---|---|---|---|---|---|---|---|---|---|`;

function row(r: Result): string {
  const s = r.stock.find((m) => m.ok);
  const c = r.cnnviz;
  const ref = r.reference ? `${r.reference.msLow}–${r.reference.msHigh} (${r.reference.label})` : '–';
  const met =
    r.targetsMet && Object.keys(r.targetsMet).length > 0
      ? Object.entries(r.targetsMet)
          .map(([k, v]) => `${k}: ${v ? 'yes' : 'no'}`)
          .join('; ')
      : '–';
  const stockCell = s
    ? `${fmt(s.medianMs)} (${s.label}${s.scale ? ', extrapolated' : ''})`
    : r.stock.length
      ? 'failed'
      : '–';
  return (
    `| ${r.suite}/${r.name} | ${c.ok ? `${fmt(c.medianMs)} (${fmt(c.minMs)}–${fmt(c.maxMs)})` : `failed: ${c.error ?? ''}`} | ${fmt(c.medianCpuMs)} | ` +
    `${stockCell} | ${r.speedup === undefined ? '–' : `${fmt(r.speedup, 1)}x / ${fmt(r.speedupCpu, 1)}x`} | ` +
    `${fmt(c.peakRssMiB)} / ${s ? fmt(s.peakRssMiB) : '–'} | ${c.tensorsBefore ?? '–'} → ${c.tensorsAfter ?? '–'} | ${ref} | ${met} | ` +
    `${r.machine.loadavgBefore.map((l) => l.toFixed(1)).join(' ')} |`
  );
}

function readResults(): Result[] {
  return (
    readdirSync(resultsDir)
      .filter((n) => n.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as Result)
      // Results written before the suites existed are the kernel benchmarks.
      .map((r) => ({ ...r, suite: r.suite ?? 'kernels' }))
      .sort((a, b) => `${a.suite}/${a.name}`.localeCompare(`${b.suite}/${b.name}`))
  );
}

function writeReadme(): void {
  const results = readResults();
  const notes: string[] = [];
  for (const r of results) {
    notes.push(
      `- **${r.suite}/${r.name}** (${r.date.slice(0, 16)}Z, ${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}): ${r.description} ${r.cnnviz.note ? `cnnviz: ${r.cnnviz.note}. ` : ''}Stock: ${r.stockUsed?.note ?? 'did not run'}.`,
    );
    for (const e of r.extras ?? []) {
      notes.push(
        `  - also ${e.label}: ` +
          (e.ok
            ? `median ${fmt(e.medianMs)} ms (${fmt(e.minMs)}–${fmt(e.maxMs)}), cpu ${fmt(e.medianCpuMs)} ms, peak RSS ${fmt(e.peakRssMiB)} MiB`
            : `failed: ${e.error}`),
      );
    }
  }
  const text = `# Benchmark results

Written by \`npm run bench -- [names...]\` (bench/src/run.ts; see [bench/README.md](../README.md)); one JSON file per
benchmark beside this file, this table rebuilt from all of them. Times in ms: median (min–max) wall time after
warm-up; "cpu" is the median process CPU time per iteration (every thread) — on a shared machine (see the load
average) CPU time is the steadier figure. Speed-up = stock median / cnnviz median (wall / cpu); a stock figure
marked "extrapolated" timed the first iterations of a naive loop and scaled them to the whole. Peak RSS is each
variant's own process (\`process.resourceUsage().maxRSS\`); tensors = \`tf.memory().numTensors\` before → after the
timed iterations. Older measurements, taken by the per-package scripts this harness replaced, are in
[history/](history/).

${TABLE_HEAD}
${results.map(row).join('\n')}

${notes.join('\n')}
`;
  writeFileSync(join(resultsDir, 'README.md'), text);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  const quick = args.includes('--quick');
  if (quick) process.env.BENCH_QUICK = '1';
  if (args.includes('--readme')) {
    // Rebuild results/README.md from the JSON files without running anything.
    writeReadme();
    return;
  }
  const names = args.filter((a) => !a.startsWith('--'));
  const known = (n: string) => BENCHMARKS.some((b) => b.name === n || b.suite === n);
  const unknown = names.filter((n) => !known(n));
  if (unknown.length > 0) {
    const suites = [...new Set(BENCHMARKS.map((b) => b.suite))];
    console.error(
      `unknown benchmark(s): ${unknown.join(', ')}; suites: ${suites.join(', ')}; benchmarks: ${BENCHMARKS.map((b) => b.name).join(', ')}`,
    );
    process.exitCode = 2;
    return;
  }
  let chosen =
    names.length > 0
      ? BENCHMARKS.filter((b) => names.includes(b.name) || names.includes(b.suite))
      : BENCHMARKS;
  if (chosen.some((b) => b.needs === 'gpu')) {
    // The GPU entry runs only on a hardware adapter (Dawn on a GPU's Vulkan driver); software ones are slower than WASM.
    const dawn = await probeDawn();
    const why = !dawn.ok
      ? dawn.why
      : dawn.adapter.software
        ? `only a software adapter (${dawn.adapter.description})`
        : '';
    if (why) {
      for (const b of chosen.filter((c) => c.needs === 'gpu'))
        console.log(`skipped ${b.suite}/${b.name}: no hardware GPU (${why})`);
      chosen = chosen.filter((b) => b.needs !== 'gpu');
    }
  }
  if (!existsSync(resultsDir)) mkdirSync(resultsDir, { recursive: true });
  const t0 = performance.now();
  const results = quick ? runQuick(chosen) : chosen.map(runBenchmark);
  if (!quick)
    for (const r of results)
      writeFileSync(join(resultsDir, `${r.name}.json`), `${JSON.stringify(r, null, 2)}\n`);
  console.log(
    `\n${quick ? 'Quick run (smaller problems, one iteration, cnnviz only; nothing written)' : 'Results'}: ` +
      `${results.length} benchmark(s) in ${((performance.now() - t0) / 1000).toFixed(0)} s, ${cpus().length} × ${cpus()[0]?.model ?? '?'}, ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}\n`,
  );
  console.log(`${TABLE_HEAD}\n${results.map(row).join('\n')}`);
  if (quick) {
    if (results.some((r) => !r.cnnviz.ok)) process.exitCode = 1;
    return;
  }
  writeReadme();
  console.log(`\nresults: ${join(resultsDir, 'README.md')}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
