/**
 * cnnviz on a GPU through Dawn (WebGPU in Node), against stock TF.js webgpu and PyTorch CUDA, in ONE run.
 *
 *   ../shared/gpu/pack.sh bench/src/gpu-entry.ts        # from the project root; packs .gpu/
 *   device: carry [".gpu"], command "bash .gpu/run.sh", timeout_s 540
 *   local check: VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json bash .gpu/run.sh --quick --software
 *
 * MobileNetV2 (Keras layout, random weights: timing only; the bundle needs no files), median of N after warm-up:
 * saliency at 224px, SmoothGrad-50 (batched) and style transfer at 256px for 100 Adam steps — each as stock
 * TF.js (tfjs-layers model, tf.grad), through cnnviz's library on fromLayersModel, and through cnnviz's library
 * on the BN-folded, fused-input-gradient model (bench/gpu/folded-model.ts). Then PyTorch CUDA runs the same
 * three tasks on torchvision's MobileNetV2 (bench/gpu/torch_ref.py, embedded) and everything prints as JSON and
 * a Markdown table.
 *
 * Flags: --quick (small sizes, few reps: checks the bundle), --software (allow lavapipe/SwiftShader),
 * --size N, --samples N, --steps N, --style-size N, --reps N, --stock-samples N / --stock-steps N (time that
 * many of the stock naive loop and scale linearly), --only=saliency,smoothgrad,style, --no-torch, --no-profile,
 * --no-variants, --toggles=a,b (Dawn toggles), --json=PATH, --print-torch.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import {
  classLogit,
  counterNormal,
  gramMatrix,
  objectiveGradient,
  registerKernelFixes,
  run,
  unregisterKernelFixes,
  type VisionModel,
} from '@cnnviz/core';
import { fromLayersModel } from '@cnnviz/models';
import { saliency, smoothGrad } from '@cnnviz/attribution';
import { transferStyle } from '@cnnviz/synthesis';
import { type AdapterReport, startWebgpu, storageBindingLimit } from '../gpu/dawn.js';
import { foldedVisionModel } from '../gpu/folded-model.js';
import { buildMobileNetV2, foldMobileNetV2, type MobileNetV2Spec } from '../gpu/mobilenet-v2.js';
import { TORCH_REF_PY } from '../gpu/torch-ref.js';

// ---------------------------------------------------------------------------------------------- options

const argv = process.argv.slice(2);
const has = (f: string) => argv.includes(f);
const opt = (name: string): string | undefined => {
  const eq = argv.find((a) => a.startsWith(`${name}=`));
  if (eq !== undefined) return eq.slice(name.length + 1);
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length && !argv[i + 1].startsWith('--') ? argv[i + 1] : undefined;
};
const num = (name: string, dflt: number) => (opt(name) !== undefined ? Number(opt(name)) : dflt);

const quick = has('--quick');
const cfg = {
  quick,
  size: num('--size', quick ? 96 : 224),
  samples: num('--samples', quick ? 8 : 50),
  steps: num('--steps', quick ? 4 : 100),
  styleSize: num('--style-size', quick ? 96 : 256),
  reps: num('--reps', quick ? 2 : 10),
  stockSamples: 0,
  stockSteps: 0,
  only: (opt('--only') ?? 'saliency,smoothgrad,style').split(','),
  torch: !has('--no-torch'),
  profile: !has('--no-profile') && !quick,
  variants: !has('--no-variants'),
  toggles: (opt('--toggles') ?? '').split(',').filter(Boolean),
  child: has('--child'),
  skipStock: has('--skip-stock'),
};
cfg.stockSamples = Math.min(cfg.samples, num('--stock-samples', quick ? 2 : cfg.samples));
cfg.stockSteps = Math.min(cfg.steps, num('--stock-steps', quick ? 2 : cfg.steps));

const TARGET = 3;
const STYLE_LAYERS = [
  'Conv1_relu',
  'block_1_expand_relu',
  'block_3_expand_relu',
  'block_6_expand_relu',
  'block_13_expand_relu',
];
const CONTENT_LAYER = 'block_6_expand_relu';
const CONTENT_INDEX = STYLE_LAYERS.indexOf(CONTENT_LAYER);
const LAST_STYLE_LAYER = 'block_13_expand_relu';
const TARGETS_MS: Record<string, number> = { saliency: 30, smoothgrad: 150, style: 5000 };

// ---------------------------------------------------------------------------------------------- timing

interface Row {
  task: string;
  impl: string;
  ms: number;
  runs: number[];
  note?: string;
}
const rows: Row[] = [];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timeIt(
  task: string,
  impl: string,
  fn: () => Promise<void>,
  reps: number,
  warm = 2,
  scale = 1,
  note?: string,
) {
  try {
    for (let i = 0; i < warm; i++) await fn();
    const runs: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await fn();
      runs.push((performance.now() - t0) * scale);
    }
    const row: Row = { task, impl, ms: median(runs), runs: runs.map((r) => Math.round(r * 10) / 10), note };
    rows.push(row);
    console.log(
      `  ${task.padEnd(11)} ${impl.padEnd(44)} ${row.ms.toFixed(1).padStart(9)} ms  (median of ${reps}${note ? `; ${note}` : ''})`,
    );
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    rows.push({ task, impl, ms: NaN, runs: [], note: `failed: ${msg}` });
    console.log(`  ${task.padEnd(11)} ${impl.padEnd(44)}    FAILED  ${msg}`);
  }
}

const memoryCheck = (label: string, before: tf.MemoryInfo) => {
  const after = tf.memory();
  if (after.numTensors !== before.numTensors)
    console.log(`  (leak check ${label}: ${after.numTensors - before.numTensors} tensors)`);
};

// ---------------------------------------------------------------------------------------------- tasks

function fixes(on: boolean) {
  if (on) registerKernelFixes('webgpu');
  else unregisterKernelFixes('webgpu');
}

async function readAndDispose(t: tf.Tensor) {
  await t.data();
  t.dispose();
}

/** Stock TF.js: the tfjs-layers model under tf.grad (fused conv gradients compute the filter gradients too). */
function stockSaliencyMap(model: MobileNetV2Spec['model'], img: tf.Tensor4D, onehot: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(model.apply(x) as tf.Tensor, onehot)))(img);
    return tf.max(tf.abs(g), -1);
  });
}

async function benchSaliency(spec: MobileNetV2Spec, lib: VisionModel, folded: VisionModel) {
  const s = cfg.size;
  const img4 = tf.randomUniform([1, s, s, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const img3 = tf.squeeze(img4, [0]) as tf.Tensor3D;
  const onehot = tf.oneHot(tf.tensor1d([TARGET], 'int32'), 1000);
  const before = tf.memory();
  fixes(false);
  if (!cfg.skipStock)
    await timeIt(
      'saliency',
      'stock TF.js webgpu (tfjs-layers + tf.grad)',
      () => readAndDispose(stockSaliencyMap(spec.model, img4, onehot)),
      cfg.reps,
    );
  fixes(true);
  if (!cfg.skipStock)
    await timeIt(
      'saliency',
      'stock model + cnnviz webgpu kernel fixes',
      () => readAndDispose(stockSaliencyMap(spec.model, img4, onehot)),
      cfg.reps,
    );
  const lib1 = async (m: VisionModel) => {
    const r = await saliency(m, img3, { target: TARGET });
    await r.map.data();
    r.dispose();
  };
  await timeIt('saliency', 'cnnviz saliency() on fromLayersModel', () => lib1(lib), cfg.reps);
  await timeIt('saliency', 'cnnviz saliency() on folded model', () => lib1(folded), cfg.reps);
  memoryCheck('saliency', before);
  if (cfg.variants && !cfg.child) {
    // Cheap A/B of backend flags on the fastest path (same machine, same call).
    const flags: [string, string | number | boolean][] = [
      ['WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', 64],
      ['WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE', false],
    ];
    for (const [flag, value] of flags) {
      const old = tf.env().get(flag);
      tf.env().set(flag, value);
      await timeIt('saliency', `folded model, ${flag}=${value}`, () => lib1(folded), cfg.reps);
      tf.env().set(flag, old);
    }
  }
  if (cfg.profile && !cfg.child) {
    await profile('stock TF.js saliency', async () => {
      fixes(false);
      await readAndDispose(stockSaliencyMap(spec.model, img4, onehot));
    });
    fixes(true);
    await profile('cnnviz folded saliency', () => lib1(folded));
  }
  tf.dispose([img4, img3, onehot]);
}

async function profile(label: string, fn: () => Promise<void>) {
  try {
    const p = await tf.profile(fn);
    const agg = new Map<string, [number, number]>();
    for (const k of p.kernels) {
      const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      const a = agg.get(k.name) ?? [0, 0];
      agg.set(k.name, [a[0] + ms, a[1] + 1]);
    }
    const sorted = [...agg.entries()].sort((a, b) => b[1][0] - a[1][0]);
    const total = sorted.reduce((s, [, [ms]]) => s + ms, 0);
    console.log(
      `  profile: ${label}: ${p.kernels.length} kernels, GPU kernel time ${total.toFixed(1)} ms (timestamp queries)`,
    );
    for (const [name, [ms, n]] of sorted.slice(0, 10))
      console.log(`    ${name.padEnd(40)} ${ms.toFixed(2).padStart(8)} ms  x${n}`);
  } catch (e) {
    console.log(`  profile ${label} failed: ${(e as Error).message.split('\n')[0]}`);
  }
}

async function benchSmoothGrad(spec: MobileNetV2Spec, lib: VisionModel, folded: VisionModel) {
  const s = cfg.size;
  const n = cfg.samples;
  const img4 = tf.randomUniform([1, s, s, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
  const img3 = tf.squeeze(img4, [0]) as tf.Tensor3D;
  const onehot = tf.oneHot(tf.tensor1d([TARGET], 'int32'), 1000);
  const sigma = 0.15;
  const before = tf.memory();
  // Stock: the loop a TF.js user writes, one noisy copy and one gradient at a time.
  const stockLoop = async (count: number) => {
    let acc = tf.zeros([1, s, s, 3]);
    for (let i = 0; i < count; i++) {
      const next = tf.tidy(() => {
        const noisy = tf.add(img4, tf.randomNormal([1, s, s, 3], 0, sigma));
        const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(spec.model.apply(x) as tf.Tensor, onehot)))(noisy);
        return tf.add(acc, g);
      });
      acc.dispose();
      acc = next;
    }
    const map = tf.tidy(() => tf.max(tf.abs(tf.div(acc, count)), -1));
    acc.dispose();
    await readAndDispose(map);
  };
  fixes(false);
  const k = cfg.stockSamples;
  if (!cfg.skipStock)
    await timeIt(
      'smoothgrad',
      'stock TF.js webgpu (naive loop)',
      () => stockLoop(k),
      Math.max(1, Math.min(3, cfg.reps)),
      1,
      n / k,
      k < n ? `${k} samples timed, scaled x${(n / k).toFixed(1)}` : undefined,
    );
  fixes(true);
  const libSg = async (m: VisionModel) => {
    const r = await smoothGrad(m, img3, { target: TARGET, samples: n, noise: sigma, seed: 1 });
    await r.map.data();
    r.dispose();
  };
  const sgReps = Math.max(1, Math.min(5, cfg.reps));
  await timeIt('smoothgrad', 'cnnviz smoothGrad() on fromLayersModel', () => libSg(lib), sgReps, 1);
  await timeIt('smoothgrad', 'cnnviz smoothGrad() on folded model', () => libSg(folded), sgReps, 1);
  // Batched on the GPU end to end: noise from the counter-based kernel, batches as large as a binding allows.
  const perSample = (s / 2) * (s / 2) * 96 * 4 * 2; // largest activation (block_1_expand), with headroom
  const batch = Math.max(1, Math.min(n, Math.floor(storageBindingLimit() / perSample)));
  const gpuSg = async () => {
    let acc = tf.zeros([1, s, s, 3]) as tf.Tensor;
    for (let start = 0; start < n; start += batch) {
      const b = Math.min(batch, n - start);
      const next = tf.tidy(() => {
        const noise = counterNormal([b, s, s, 3], 1, { std: sigma, offset: start * s * s * 3 });
        const noisy = tf.add(img4, noise) as tf.Tensor4D;
        const { grad, values } = objectiveGradient(folded, noisy, classLogit(TARGET));
        values.dispose();
        return tf.add(acc, tf.sum(grad, 0, true));
      });
      acc.dispose();
      acc = next;
    }
    const map = tf.tidy(() => tf.max(tf.abs(tf.div(acc, n)), -1));
    acc.dispose();
    await readAndDispose(map);
  };
  await timeIt('smoothgrad', `folded model, GPU noise, batches of ${batch}`, gpuSg, sgReps, 1);
  memoryCheck('smoothgrad', before);
  tf.dispose([img4, img3, onehot]);
}

function styleLosses(
  acts: tf.Tensor[],
  contentAct: tf.Tensor,
  grams: tf.Tensor2D[],
  contentTarget: tf.Tensor,
  img: tf.Tensor4D,
): tf.Scalar {
  const s = tf.addN(
    acts.map((a, i) => tf.mean(tf.squaredDifference(gramMatrix(a as tf.Tensor4D), grams[i]))),
  );
  const c = tf.mean(tf.squaredDifference(contentAct, contentTarget));
  const [, h, w] = img.shape;
  const tv = tf.add(
    tf.mean(
      tf.abs(
        tf.sub(
          tf.slice(img, [0, 1, 0, 0], [-1, h - 1, -1, -1]),
          tf.slice(img, [0, 0, 0, 0], [-1, h - 1, -1, -1]),
        ),
      ),
    ),
    tf.mean(
      tf.abs(
        tf.sub(
          tf.slice(img, [0, 0, 1, 0], [-1, -1, w - 1, -1]),
          tf.slice(img, [0, 0, 0, 0], [-1, -1, w - 1, -1]),
        ),
      ),
    ),
  );
  return tf.addN([c, tf.mul(s, 10), tv]) as tf.Scalar;
}

/** An Adam loop on the image with no readback until the end; `features` returns the STYLE_LAYERS activations. */
async function minimalStyle(
  features: (x: tf.Tensor4D) => tf.Tensor[],
  content: tf.Tensor4D,
  style: tf.Tensor4D,
  steps: number,
) {
  const grams = tf.tidy(() => features(style).map((a) => gramMatrix(a as tf.Tensor4D)));
  const contentTarget = tf.tidy(() => features(content)[CONTENT_INDEX]);
  // tf.variable shares the initial value's data; assign() swaps in new data, so `content` stays intact.
  const img = tf.variable(content, true);
  const optimizer = tf.train.adam(0.02);
  for (let i = 0; i < steps; i++) {
    optimizer.minimize(
      () => {
        const acts = features(img as unknown as tf.Tensor4D);
        return styleLosses(acts, acts[CONTENT_INDEX], grams, contentTarget, img as unknown as tf.Tensor4D);
      },
      false,
      [img],
    );
    tf.tidy(() => img.assign(tf.clipByValue(img, 0, 1)));
  }
  await img.data();
  tf.dispose([...grams, contentTarget, img]);
  optimizer.dispose();
}

async function benchStyle(spec: MobileNetV2Spec, lib: VisionModel, folded: VisionModel) {
  const s = cfg.styleSize;
  const content = tf.randomUniform([1, s, s, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const style = tf.randomUniform([1, s, s, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const content3 = tf.squeeze(content, [0]) as tf.Tensor3D;
  const style3 = tf.squeeze(style, [0]) as tf.Tensor3D;
  const before = tf.memory();
  const outputs = STYLE_LAYERS.map(
    (n) => spec.model.getLayer(n).output as import('@tensorflow/tfjs-layers').SymbolicTensor,
  );
  const tfl = await import('@tensorflow/tfjs-layers');
  const featModel = tfl.model({ inputs: spec.model.inputs, outputs });
  const stockFeatures = (x: tf.Tensor4D) => featModel.apply(x) as tf.Tensor[];
  fixes(false);
  const k = cfg.stockSteps;
  if (!cfg.skipStock)
    await timeIt(
      'style',
      'stock TF.js webgpu (tfjs-layers + tf.train.adam)',
      () => minimalStyle(stockFeatures, content, style, k),
      1,
      1,
      cfg.steps / k,
      k < cfg.steps ? `${k} steps timed, scaled x${(cfg.steps / k).toFixed(1)}` : undefined,
    );
  fixes(true);
  const styleReps = Math.max(1, Math.min(3, cfg.reps));
  const libStyle = (m: VisionModel) => async () => {
    const last = await run(
      transferStyle(m, content3, [{ image: style3, weight: 1 }], {
        steps: cfg.steps,
        contentLayer: CONTENT_LAYER,
        styleLayers: STYLE_LAYERS,
      }),
    );
    // The last step carries the result image (pixels read back, as a user would).
    if (last.image !== undefined) await readAndDispose(last.image);
  };
  await timeIt('style', 'cnnviz transferStyle() on fromLayersModel', libStyle(lib), styleReps, 1);
  await timeIt('style', 'cnnviz transferStyle() on folded model', libStyle(folded), styleReps, 1);
  const foldedFeatures = (x: tf.Tensor4D) => {
    const acts = folded.forward(x, [...STYLE_LAYERS]).activations;
    return STYLE_LAYERS.map((n) => acts[n]);
  };
  await timeIt(
    'style',
    'folded model, minimal Adam loop (no readback)',
    () => minimalStyle(foldedFeatures, content, style, cfg.steps),
    styleReps,
    1,
  );
  memoryCheck('style', before);
  tf.dispose([content, style, content3, style3]);
}

// ---------------------------------------------------------------------------------------------- PyTorch

interface TorchResult {
  torch: string;
  why?: string;
  device?: string;
  forward_ms?: number;
  saliency_ms?: number;
  smoothgrad_ms?: number;
  style_ms?: number;
}

function torchSource(): string {
  // The repo's copy wins when present (a device run carries the working tree); the embedded one otherwise.
  const here = dirname(fileURLToPath(import.meta.url));
  for (const p of [resolve('bench/gpu/torch_ref.py'), join(here, '../gpu/torch_ref.py')]) {
    if (existsSync(p)) {
      const text = readFileSync(p, 'utf8');
      if (text !== TORCH_REF_PY)
        console.log(
          `note: ${p} differs from the embedded copy (rerun bench/gpu/embed-torch-ref.mjs); using the file`,
        );
      return text;
    }
  }
  return TORCH_REF_PY;
}

function runTorch(): TorchResult {
  const dir = mkdtempSync(join(tmpdir(), 'cnnviz-torch-'));
  const file = join(dir, 'torch_ref.py');
  writeFileSync(file, torchSource());
  const args = [
    file,
    '--size',
    String(cfg.size),
    '--samples',
    String(cfg.samples),
    '--steps',
    String(cfg.steps),
    '--style-size',
    String(cfg.styleSize),
    '--reps',
    String(cfg.reps),
  ];
  if (quick) args.push('--quick');
  const t0 = performance.now();
  const r = spawnSync('python3', args, {
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  if (r.error) return { torch: 'unavailable', why: `python3: ${r.error.message}` };
  const line = (r.stdout ?? '')
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{'));
  if (line === undefined)
    return {
      torch: 'unavailable',
      why: `no result (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`,
    };
  const res = JSON.parse(line) as TorchResult;
  console.log(`  PyTorch run took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return res;
}

// ---------------------------------------------------------------------------------------------- main

function toggleVariant(): Row[] {
  // Dawn toggles are fixed when navigator.gpu is created: a child process runs the cnnviz paths with them.
  const toggles = 'skip_validation,disable_robustness';
  const args = [
    ...process.execArgv,
    process.argv[1],
    ...argv.filter((a) => !a.startsWith('--json') && !a.startsWith('--only')),
    '--child',
    '--skip-stock',
    `--toggles=${toggles}`,
    '--no-torch',
    '--no-profile',
    '--only=saliency,smoothgrad',
    '--json=-',
  ];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 240_000 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('CHILD_JSON '));
  if (line === undefined) {
    const err = (r.stderr ?? '')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.includes('artificially reduced'))
      .slice(-3)
      .join(' | ');
    console.log(`  toggles variant failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}): ${err}`);
    return [];
  }
  return (JSON.parse(line.slice('CHILD_JSON '.length)) as Row[])
    .filter((row) => row.impl.startsWith('cnnviz') || row.impl.startsWith('folded'))
    .map((row) => ({ ...row, impl: `${row.impl} [Dawn ${toggles}]` }));
}

function markdown(adapter: AdapterReport, torch: TorchResult): string {
  const label = (t: string) =>
    t === 'saliency'
      ? `saliency ${cfg.size}px`
      : t === 'smoothgrad'
        ? `SmoothGrad-${cfg.samples} ${cfg.size}px`
        : `style ${cfg.styleSize}px, ${cfg.steps} steps`;
  const torchMs: Record<string, number | undefined> = {
    saliency: torch.saliency_ms,
    smoothgrad: torch.smoothgrad_ms,
    style: torch.style_ms,
  };
  const lines = [
    `Device: ${adapter.description || adapter.vendor} (${adapter.vendor}/${adapter.architecture}${adapter.software ? ', software' : ''}); PyTorch: ${torch.device ? `${torch.device}, torch ${torch.torch}` : `unavailable (${torch.why ?? ''})`}`,
    '',
    '| task | implementation | median ms | vs stock | PyTorch CUDA ms | target ms |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const task of ['saliency', 'smoothgrad', 'style']) {
    const rs = rows.filter((r) => r.task === task);
    const stock = rs.find((r) => r.impl.startsWith('stock TF.js'))?.ms;
    for (const r of rs) {
      const ratio =
        stock !== undefined && Number.isFinite(stock) && Number.isFinite(r.ms)
          ? `${(stock / r.ms).toFixed(1)}x`
          : '';
      const t = torchMs[task];
      lines.push(
        `| ${label(task)} | ${r.impl}${r.note ? ` (${r.note})` : ''} | ${Number.isFinite(r.ms) ? r.ms.toFixed(1) : 'failed'} | ${ratio} | ${t !== undefined ? t.toFixed(1) : '—'} | ${TARGETS_MS[task]} |`,
      );
    }
  }
  return lines.join('\n');
}

async function main() {
  if (has('--print-torch')) {
    process.stdout.write(TORCH_REF_PY);
    return;
  }
  const t0 = performance.now();
  const adapter = await startWebgpu({ allowSoftware: has('--software'), toggles: cfg.toggles });
  if (!cfg.child) {
    console.log(`adapter: ${JSON.stringify({ ...adapter, features: adapter.features.join(' ') })}`);
    console.log(`config: ${JSON.stringify(cfg)}`);
  }
  const torch: TorchResult = cfg.torch && !cfg.child ? runTorch() : { torch: 'skipped' };
  if (cfg.torch && !cfg.child)
    console.log(`torch: ${torch.device ? JSON.stringify(torch) : `torch unavailable (${torch.why})`}`);

  if (cfg.only.includes('saliency') || cfg.only.includes('smoothgrad')) {
    const spec = buildMobileNetV2(cfg.size, 1000);
    const net = foldMobileNetV2(spec);
    const lib = fromLayersModel(spec.model);
    const folded = foldedVisionModel(spec, net);
    if (cfg.only.includes('saliency')) await benchSaliency(spec, lib, folded);
    if (cfg.only.includes('smoothgrad')) await benchSmoothGrad(spec, lib, folded);
    net.dispose();
    spec.model.dispose();
  }
  if (cfg.only.includes('style')) {
    const spec = buildMobileNetV2(cfg.styleSize, 1000);
    const net = foldMobileNetV2(spec);
    const lib = fromLayersModel(spec.model, { outputLayer: LAST_STYLE_LAYER });
    const folded = foldedVisionModel(spec, net, { outputLayer: LAST_STYLE_LAYER });
    await benchStyle(spec, lib, folded);
    net.dispose();
    spec.model.dispose();
  }
  if (cfg.child) {
    console.log(`CHILD_JSON ${JSON.stringify(rows)}`);
    return;
  }
  if (cfg.variants && cfg.toggles.length === 0) {
    console.log('Dawn toggles variant (child process):');
    for (const r of toggleVariant()) {
      rows.push(r);
      console.log(`  ${r.task.padEnd(11)} ${r.impl.padEnd(44)} ${r.ms.toFixed(1).padStart(9)} ms`);
    }
  }
  const result = { adapter, config: cfg, rows, torch, totalSeconds: (performance.now() - t0) / 1000 };
  const jsonPath = opt('--json');
  if (jsonPath !== undefined && jsonPath !== '-') writeFileSync(jsonPath, JSON.stringify(result, null, 2));
  console.log('\nRESULT_JSON ' + JSON.stringify(result));
  console.log('\n' + markdown(adapter, torch));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
