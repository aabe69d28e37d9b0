// npm run bench -- [--quick | --readme] [names...]: runs the named benchmarks (all without names), each variant in its own process
// (so peak RSS is that variant's own), and writes bench/results/<name>.json and bench/results/README.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BENCHMARKS } from './benchmarks/index.js';
import type { Benchmark, Measurement } from './harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const resultsDir = join(here, '..', 'results');

interface Result {
  name: string;
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

function runVariant(name: string, which: string): Measurement {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, 'worker.ts'), name, which], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    cwd: join(here, '..'),
    // @cnnviz/* resolve to the packages' sources through the root tsconfig's paths (no build needed).
    env: { ...process.env, TSX_TSCONFIG_PATH: join(here, '..', '..', 'tsconfig.json') },
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) {
    const tail = `${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    return {
      label: which,
      backend: '?',
      fixes: false,
      ok: false,
      error: tail || `exit ${r.status}`,
      warmup: 0,
      iterations: 0,
    };
  }
  return JSON.parse(line.slice('RESULT '.length)) as Measurement;
}

const fmt = (v: number | undefined, d = 0) => (v === undefined ? '–' : v.toFixed(d));

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
  // --quick: a smoke run (1 iteration) that skips slow stock fall-backs, and writes no results.
  const stockVariants = process.env.BENCH_QUICK === '1' ? b.stock.slice(0, 1) : b.stock;
  for (let i = 0; i < stockVariants.length; i++) {
    const m = runVariant(b.name, String(i));
    report(m);
    stock.push(m);
    if (m.ok) break;
  }
  const used = stock.find((m) => m.ok);
  const failed = stock.filter((m) => !m.ok);
  const result: Result = {
    name: b.name,
    description: b.description,
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? '?',
      node: process.version,
      loadavgBefore,
      loadavgAfter: loadavg(),
    },
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
    result.stockUsed = { label: used.label, note };
    if (cnnviz.ok && used.medianMs !== undefined && cnnviz.medianMs !== undefined) {
      result.speedup = used.medianMs / cnnviz.medianMs;
      result.speedupCpu = (used.medianCpuMs ?? NaN) / (cnnviz.medianCpuMs ?? NaN);
    }
  }
  const t = b.targets;
  if (t !== undefined && cnnviz.ok) {
    result.targetsMet = {};
    if (t.medianMs !== undefined)
      result.targetsMet[`median ≤ ${t.medianMs} ms`] = (cnnviz.medianMs ?? Infinity) <= t.medianMs;
    if (t.speedupVsStock !== undefined)
      result.targetsMet[`≥ ${t.speedupVsStock}x stock`] = (result.speedup ?? 0) >= t.speedupVsStock;
  }
  console.log(
    `   speedup vs stock: ${fmt(result.speedup, 1)}x wall, ${fmt(result.speedupCpu, 1)}x cpu` +
      (b.reference ? `; ${b.reference.label}: ${b.reference.msLow}–${b.reference.msHigh} ms` : '') +
      ` (load average ${loadavgBefore.map((l) => l.toFixed(1)).join(' ')})`,
  );
  return result;
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

function writeReadme(): void {
  const rows: string[] = [];
  for (const f of readdirSync(resultsDir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    const r = JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as Result;
    const s = r.stock.find((m) => m.ok);
    const c = r.cnnviz;
    const ref = r.reference ? `${r.reference.msLow}–${r.reference.msHigh} (${r.reference.label})` : '–';
    const met = r.targetsMet
      ? Object.entries(r.targetsMet)
          .map(([k, v]) => `${k}: ${v ? 'yes' : 'no'}`)
          .join('; ')
      : '–';
    rows.push(
      `| ${r.name} | ${c.ok ? `${fmt(c.medianMs)} (${fmt(c.minMs)}–${fmt(c.maxMs)})` : 'failed'} | ${fmt(c.medianCpuMs)} | ` +
        `${s ? `${fmt(s.medianMs)} (${s.label})` : 'failed'} | ${fmt(r.speedup, 1)}x / ${fmt(r.speedupCpu, 1)}x | ` +
        `${fmt(c.peakRssMiB)} / ${s ? fmt(s.peakRssMiB) : '–'} | ${c.tensorsBefore ?? '–'} → ${c.tensorsAfter ?? '–'} | ${ref} | ${met} | ` +
        `${r.machine.loadavgBefore.map((l) => l.toFixed(1)).join(' ')} |`,
    );
  }
  const notes: string[] = [];
  for (const f of readdirSync(resultsDir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    const r = JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as Result;
    notes.push(
      `- **${r.name}** (${r.date.slice(0, 16)}Z, ${r.machine.cpus} × ${r.machine.model}, Node ${r.machine.node}): ${r.description} Stock: ${r.stockUsed?.note ?? 'did not run'}.`,
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

Written by \`npm run bench -- [names...]\` (bench/src/run.ts); one JSON file per benchmark beside this file.
Times in ms: median (min–max) wall time after warm-up; "cpu" is the median process CPU time per iteration —
on a shared machine (see the load average) CPU time is the steadier figure. These MobileNetV2/VGG16 tables were
measured before WASM ran multithreaded in Node (one thread); the per-issue result files beside them are newer. Speed-up = stock median / cnnviz median (wall / cpu). Peak RSS is each variant's own process
(\`process.resourceUsage().maxRSS\`); tensors = \`tf.memory().numTensors\` before → after the timed iterations.

| benchmark | cnnviz ms | cnnviz cpu ms | stock ms | speed-up | peak RSS MiB cnnviz / stock | tensors | reference ms | targets met | load avg |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${notes.join('\n')}
`;
  writeFileSync(join(resultsDir, 'README.md'), text);
}

function main(): void {
  const args = process.argv.slice(2).filter((a) => a !== '--');
  if (args.includes('--quick')) process.env.BENCH_QUICK = '1';
  if (args.includes('--readme')) {
    // Rebuild results/README.md from the JSON files without running anything.
    writeReadme();
    return;
  }
  const names = args.filter((a) => !a.startsWith('--'));
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    console.error(
      `unknown benchmark(s): ${unknown.join(', ')}; available: ${BENCHMARKS.map((b) => b.name).join(', ')}`,
    );
    process.exitCode = 2;
    return;
  }
  const chosen = names.length > 0 ? BENCHMARKS.filter((b) => names.includes(b.name)) : BENCHMARKS;
  if (!existsSync(resultsDir)) mkdirSync(resultsDir, { recursive: true });
  for (const b of chosen) {
    const r = runBenchmark(b);
    if (process.env.BENCH_QUICK !== '1')
      writeFileSync(join(resultsDir, `${b.name}.json`), `${JSON.stringify(r, null, 2)}\n`);
  }
  if (process.env.BENCH_QUICK === '1') return;
  writeReadme();
  console.log(`\nresults: ${join(resultsDir, 'README.md')}`);
}

main();
