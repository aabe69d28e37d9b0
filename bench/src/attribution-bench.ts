/**
 * Attribution benchmarks on MobileNetV2 at 224 px (ImageNet backbone from @cnnviz/models; the target
 * is one logit of its pooled out_relu features): cnnviz on WASM with its kernel fixes, side by side
 * with the same technique written naively with stock TF.js, and as a ratio to PyTorch on the same
 * two cores (ASSETS.md). Every variant runs in its own process, so its peak RSS is its own.
 *
 *   npx tsx bench/src/attribution-bench.ts            # everything (stock CPU gradients take minutes)
 *   npx tsx bench/src/attribution-bench.ts --quick    # cnnviz only
 *   --only saliency,occlusion   --naive-samples 2   --naive-windows 60   --full-naive (no extrapolation)
 *   --reps N (timed runs of each cnnviz technique)   --json out.json
 *
 * Stock WASM cannot differentiate MobileNetV2 (missing gradient kernels), so the naive gradient
 * techniques run on stock CPU; naive loops too long to run whole are timed on their first
 * iterations and extrapolated, and the table says so.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resize } from '@cnnviz/core';
import { images, loadNsfwjsBackbone, zoo } from '@cnnviz/models';
import * as attribution from '@cnnviz/attribution';

type Technique = 'saliency' | 'smoothGrad' | 'integratedGradients' | 'occlusion';
type Variant = 'cnnviz-wasm' | 'stock-wasm' | 'stock-cpu';

interface Result {
  technique: Technique;
  variant: Variant;
  ok: boolean;
  error?: string;
  /** Median wall time of one full technique call (extrapolated when `extrapolatedFrom` is set). */
  ms?: number;
  timesMs?: number[];
  /** The naive loop ran only this many of its iterations; `ms` scales them to the full count. */
  extrapolatedFrom?: { done: number; total: number };
  peakRssMiB?: number;
  detail?: string;
}

const TECHNIQUES: Technique[] = ['saliency', 'smoothGrad', 'integratedGradients', 'occlusion'];
const SAMPLES = 50; // SmoothGrad samples and IG steps, as in the PyTorch reference
const WINDOW = 16;
const STRIDE = 8;
const SIZE = 224;
const TARGET = 263; // a pooled out_relu channel specific to the cat photo (see real-pictures.ts)

/** PyTorch 1.13, 2 threads, same machine kind (ASSETS.md). */
const PYTORCH: Record<Technique, { lowMs: number; highMs: number; note?: string }> = {
  saliency: { lowMs: 23, highMs: 45 },
  smoothGrad: { lowMs: 1400, highMs: 1400 },
  integratedGradients: { lowMs: 1300, highMs: 1300, note: 'batches of 10' },
  occlusion: { lowMs: 17000, highMs: 17000, note: 'peak RSS 1.3 GB' },
};
const TARGETS: Record<Technique, number> = {
  saliency: 150,
  smoothGrad: 4000,
  integratedGradients: 4000,
  occlusion: 20000,
};

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};

// ---------------------------------------------------------------------------------------------
// Child: one technique, one variant.

async function child(technique: Technique, variant: Variant): Promise<Result> {
  if (variant === 'cnnviz-wasm') {
    const { initBackend } = await import('@cnnviz/node');
    const info = await initBackend({ backend: 'wasm', strict: true });
    if (info.fixes.length === 0) throw new Error('no cnnviz kernel fixes installed for wasm');
  } else {
    // Stock TF.js: the backend package as it ships, no cnnviz kernels (tfjs-layers, imported by
    // @cnnviz/models as by any TF.js app that loads a LayersModel, registers the gradients).
    if (variant === 'stock-wasm') {
      // The one set-up step any Node app needs once the backend is bundled: where the .wasm files are.
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const { createRequire } = await import('node:module');
      wasm.setWasmPaths(
        `${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`,
      );
    } else {
      await import('@tensorflow/tfjs-backend-cpu');
    }
    await tf.setBackend(variant === 'stock-wasm' ? 'wasm' : 'cpu');
    await tf.ready();
  }
  const cat = await images.load('chelsea', { channels: 3 });
  const image = resize(cat, [SIZE, SIZE]);
  cat.dispose();
  const base: Result = { technique, variant, ok: true };

  const time = async (run: () => Promise<void>, iterations: number, warmup: () => Promise<void>) => {
    await warmup();
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t = performance.now();
      await run();
      times.push(performance.now() - t);
    }
    const sorted = [...times].sort((a, b) => a - b);
    return { times, median: sorted[Math.floor(sorted.length / 2)] };
  };
  const peak = () => (process.resourceUsage().maxRSS * 1024) / 2 ** 20;

  if (variant === 'cnnviz-wasm') {
    const model = await zoo.mobilenetV2Features({ inputSize: SIZE });
    const target = TARGET;
    const calls: Record<Technique, () => Promise<{ dispose(): void; map: { data(): Promise<unknown> } }>> = {
      saliency: () => attribution.saliency(model, image, { target }),
      smoothGrad: () => attribution.smoothGrad(model, image, { target, samples: SAMPLES }),
      integratedGradients: () => attribution.integratedGradients(model, image, { target, steps: SAMPLES }),
      occlusion: () => attribution.occlusion(model, image, { target, window: WINDOW, stride: STRIDE }),
    };
    const run = async () => {
      const r = await calls[technique]();
      await r.map.data();
      r.dispose();
    };
    const warm = async () => {
      const r = await attribution.saliency(model, image, { target });
      r.dispose();
    };
    const reps = option('reps');
    const iterations = reps ? Number(reps) : technique === 'saliency' ? 5 : technique === 'occlusion' ? 1 : 2;
    const { times, median } = await time(run, iterations, warm);
    let detail: string | undefined;
    if (technique === 'integratedGradients') {
      const r = await attribution.integratedGradients(model, image, { target, steps: SAMPLES });
      detail = `completeness error ${(r.completenessError * 100).toFixed(1)} %`;
      r.dispose();
    }
    return { ...base, ms: median, timesMs: times, peakRssMiB: peak(), detail };
  }

  // Naive stock TF.js: the model as tfjs-layers loads it, tf.grad per input, one input at a time.
  const lm = await loadNsfwjsBackbone('mobilenet_v2', 'out_relu', SIZE);
  const x = tf.expandDims(image, 0) as tf.Tensor4D;
  const score = (input: tf.Tensor) =>
    tf.mean(tf.slice(lm.apply(input) as tf.Tensor4D, [0, 0, 0, TARGET], [-1, -1, -1, 1])) as tf.Scalar;
  const gradOf = (input: tf.Tensor) => tf.grad(score)(input);
  const naiveSamples = Number(option('naive-samples') ?? 1);
  const full = flag('full-naive');

  if (technique === 'saliency') {
    const run = async () => {
      const map = tf.tidy(() => tf.max(tf.abs(gradOf(x)), -1));
      await map.data();
      map.dispose();
    };
    const { times, median } = await time(run, variant === 'stock-cpu' ? 1 : 3, async () => {
      if (variant !== 'stock-cpu') await run();
    });
    return { ...base, ms: median, timesMs: times, peakRssMiB: peak() };
  }
  if (technique === 'smoothGrad' || technique === 'integratedGradients') {
    const total = SAMPLES;
    const done = full ? total : Math.min(naiveSamples, total);
    const sigma = tf.tidy(() => tf.mul(tf.sub(tf.max(x), tf.min(x)), 0.15));
    const t = performance.now();
    let sum: tf.Tensor = tf.zerosLike(x);
    for (let i = 0; i < done; i++) {
      const next = tf.tidy(() => {
        const input =
          technique === 'smoothGrad'
            ? tf.add(x, tf.mul(tf.randomNormal(x.shape), sigma))
            : tf.mul(x, (i + 0.5) / total); // baseline 0, midpoint rule
        return tf.add(sum, gradOf(input));
      });
      await next.data();
      sum.dispose();
      sum = next;
    }
    const ms = ((performance.now() - t) * total) / done;
    tf.dispose([sum, sigma]);
    return { ...base, ms, peakRssMiB: peak(), extrapolatedFrom: done < total ? { done, total } : undefined };
  }
  // Occlusion: one window at a time, predict, read the score.
  const positions: [number, number][] = [];
  for (let y = 0; y + WINDOW <= SIZE; y += STRIDE)
    for (let xx = 0; xx + WINDOW <= SIZE; xx += STRIDE) positions.push([y, xx]);
  const total = positions.length;
  const done = full ? total : Math.min(total, Number(option('naive-windows') ?? 60));
  const warm = tf.tidy(() => score(x));
  await warm.data();
  warm.dispose();
  const t = performance.now();
  for (const [y, xx] of positions.slice(0, done)) {
    const s = tf.tidy(() => {
      const mask = tf.pad(tf.ones([WINDOW, WINDOW, 1]), [
        [y, SIZE - y - WINDOW],
        [xx, SIZE - xx - WINDOW],
        [0, 0],
      ]);
      return score(tf.mul(x, tf.sub(1, mask)));
    });
    await s.data();
    s.dispose();
  }
  const ms = ((performance.now() - t) * total) / done;
  return { ...base, ms, peakRssMiB: peak(), extrapolatedFrom: done < total ? { done, total } : undefined };
}

// ---------------------------------------------------------------------------------------------
// Parent: run the children, print the table.

function runChild(technique: Technique, variant: Variant): Promise<Result> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...process.execArgv, self, '--child', technique, variant, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += String(d)));
    p.stderr.on('data', (d) => (err += String(d)));
    p.on('close', () => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(JSON.parse(line.slice(7)) as Result);
      else
        resolve({
          technique,
          variant,
          ok: false,
          error: (err || out).trim().split('\n').slice(-3).join(' | '),
        });
    });
  });
}

const fmt = (ms?: number) =>
  ms === undefined ? '—' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;

async function parent(): Promise<void> {
  const only = option('only')?.split(',') as Technique[] | undefined;
  const techniques = TECHNIQUES.filter((t) => !only || only.includes(t));
  const results: Result[] = [];
  for (const technique of techniques) {
    const variants: Variant[] = flag('quick')
      ? ['cnnviz-wasm']
      : technique === 'occlusion'
        ? ['cnnviz-wasm', 'stock-wasm']
        : ['cnnviz-wasm', 'stock-wasm', 'stock-cpu'];
    for (const variant of variants) {
      process.stderr.write(`running ${technique} / ${variant} ...\n`);
      const r = await runChild(technique, variant);
      results.push(r);
      process.stderr.write(`  ${r.ok ? fmt(r.ms) : `failed: ${r.error}`}\n`);
    }
  }

  const rows = [
    '| technique | cnnviz WASM + fixes | target | naive stock TF.js | speed-up | PyTorch 2 threads | cnnviz / PyTorch | peak RSS (cnnviz) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const technique of techniques) {
    const ours = results.find((r) => r.technique === technique && r.variant === 'cnnviz-wasm');
    const stock = results.filter((r) => r.technique === technique && r.variant !== 'cnnviz-wasm');
    const usable = stock.find((r) => r.ok);
    const stockText = stock
      .map((r) =>
        r.ok
          ? `${r.variant}: ${fmt(r.ms)}${r.extrapolatedFrom ? ` (extrapolated from ${r.extrapolatedFrom.done}/${r.extrapolatedFrom.total})` : ''}`
          : `${r.variant}: fails (${(r.error ?? '').slice(0, 90)})`,
      )
      .join('; ');
    const py = PYTORCH[technique];
    const ratio =
      ours?.ms === undefined
        ? '—'
        : py.lowMs === py.highMs
          ? `${(ours.ms / py.lowMs).toFixed(1)}×`
          : `${(ours.ms / py.highMs).toFixed(1)}–${(ours.ms / py.lowMs).toFixed(1)}×`;
    const label = {
      saliency: 'saliency',
      smoothGrad: 'SmoothGrad-50',
      integratedGradients: 'IG-50',
      occlusion: 'occlusion 16/8',
    }[technique];
    rows.push(
      `| ${label} | ${ours?.ok ? fmt(ours.ms) : `fails: ${ours?.error ?? ''}`}${ours?.detail ? ` (${ours.detail})` : ''} | ≤ ${fmt(TARGETS[technique])}${ours?.ms !== undefined ? (ours.ms <= TARGETS[technique] ? ' ✓' : ' ✗') : ''} | ${stockText || '—'} | ${usable?.ms !== undefined && ours?.ms ? `${(usable.ms / ours.ms).toFixed(1)}× vs ${usable.variant}` : '—'} | ${fmt(py.lowMs)}${py.highMs !== py.lowMs ? `–${fmt(py.highMs)}` : ''}${py.note ? ` (${py.note})` : ''} | ${ratio} | ${ours?.peakRssMiB ? `${ours.peakRssMiB.toFixed(0)} MiB` : '—'} |`,
    );
  }
  console.log(
    `\nMobileNetV2 ${SIZE}px, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  console.log(rows.join('\n'));
  const json = option('json');
  if (json) {
    mkdirSync(dirname(json), { recursive: true });
    writeFileSync(json, JSON.stringify(results, null, 2));
  }
}

if (args[0] === '--child') {
  const [, technique, variant] = args;
  child(technique as Technique, variant as Variant)
    .then((r) => process.stdout.write(`RESULT ${JSON.stringify(r)}\n`))
    .catch((e: unknown) => {
      const error = e instanceof Error ? e.message.split('\n')[0] : String(e);
      process.stdout.write(`RESULT ${JSON.stringify({ technique, variant, ok: false, error })}\n`);
    });
} else {
  parent().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
