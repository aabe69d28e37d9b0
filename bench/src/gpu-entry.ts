/**
 * cnnviz on a GPU through Dawn (WebGPU in Node), against stock TF.js webgpu and PyTorch CUDA, in ONE run: every row
 * of issue 21's table.
 *
 *   ../shared/gpu/pack.sh bench/src/gpu-entry.ts        # from the project root; packs .gpu/
 *   device: carry [".gpu"], timeout_s 540, command (bench/gpu/README.md):
 *     set -o pipefail; bash .gpu/run.sh --json=$OUT/gpu-bench.json 2>&1 | tee $OUT/gpu-bench.log
 *   local check: VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.json bash .gpu/run.sh --quick --software
 *
 * MobileNetV2 (Keras layout, random weights: timing only; the bundle needs no files), median of N after warm-up.
 * Rows: saliency, smoothgrad (50), ig (50), occlusion (16/8), gradcam, deepdream, featvis (224px, 512 steps),
 * style (256px, 100 steps), faststyle (Johnson network, 512px), tsne (10k), knn (10k x 1280) — each as stock TF.js
 * (tfjs-layers, tf.grad, naive loops; long loops timed on a few iterations and scaled) and as the cnnviz library
 * call; then PyTorch CUDA runs the same rows (bench/gpu/torch_ref.py, embedded) and everything prints as JSON
 * and a Markdown table. A per-kernel profile (timestamp queries) of one cnnviz saliency step comes with it.
 *
 * Flags: --quick (small sizes, few reps: checks the bundle), --software (allow lavapipe/SwiftShader),
 * --only=ROW,ROW, --reps N, --no-torch, --torch-device cpu (PyTorch on the CPU: a local check only),
 * --no-profile, --folded (also the bench's BN-folded model, bench/gpu/folded-model.ts), --variants (backend
 * flags and Dawn toggles), --budget-s S (rows not started by then are listed as skipped; default 380),
 * --json=PATH, --print-torch; sizes: --size, --samples, --steps, --style-size, --ig-steps, --window, --stride,
 * --dream-octaves, --dream-steps, --fv-size, --fv-steps, --fast-style-size, --tsne-n, --tsne-dims,
 * --tsne-iterations, --knn-n, --knn-d, --knn-k; stock loops: --stock-samples, --stock-steps, --stock-ig-steps,
 * --stock-windows, --stock-fv-steps, --stock-tsne-iterations.
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
  POINTWISE_DX_MATMUL_FLAG,
  registerKernelFixes,
  run,
  setWebgpuPrecision,
  unregisterKernelFixes,
  type VisionModel,
} from '@cnnviz/core';
import { fromLayersModel } from '@cnnviz/models';
import { saliency, smoothGrad } from '@cnnviz/attribution';
import { transferStyle } from '@cnnviz/synthesis';
import { cliArgs } from '../gpu/args.js';
import { type AdapterReport, startWebgpu, storageBindingLimit } from '../gpu/dawn.js';
import { foldedVisionModel } from '../gpu/folded-model.js';
import { buildMobileNetV2, foldMobileNetV2, type MobileNetV2Spec } from '../gpu/mobilenet-v2.js';
import { type KernelProfile, kernelProfile, printProfile } from '../gpu/profile.js';
import {
  benchDeepDream,
  benchFastStyle,
  benchFeatureVis,
  benchGradCam,
  benchIg,
  benchKnn,
  benchOcclusion,
  benchTsne,
} from '../gpu/rows.js';
import { memoryCheck, readAndDispose, type Row, rows, timeIt } from '../gpu/timing.js';
import { TORCH_REF_PY } from '../gpu/torch-ref.js';
import { type F16Error, f16Error } from '../gpu/f16-error.js';

// ---------------------------------------------------------------------------------------------- options

const argv = process.argv.slice(2);
const { has, opt, num } = cliArgs(argv);

const quick = has('--quick');
const ALL_ROWS = [
  'saliency',
  'smoothgrad',
  'ig',
  'occlusion',
  'gradcam',
  'deepdream',
  'featvis',
  'style',
  'faststyle',
  'tsne',
  'knn',
  'f16',
];
const cfg = {
  quick,
  size: num('--size', quick ? 96 : 224),
  samples: num('--samples', quick ? 4 : 50),
  steps: num('--steps', quick ? 2 : 100),
  styleSize: num('--style-size', quick ? 96 : 256),
  reps: num('--reps', quick ? 1 : 5),
  stockSamples: 0,
  stockSteps: 0,
  igSteps: num('--ig-steps', quick ? 4 : 50),
  stockIgSteps: num('--stock-ig-steps', quick ? 1 : 10),
  occlusionWindow: num('--window', 16),
  occlusionStride: num('--stride', quick ? 32 : 8),
  stockWindows: num('--stock-windows', quick ? 2 : 64),
  dreamOctaves: num('--dream-octaves', quick ? 2 : 3),
  dreamSteps: num('--dream-steps', quick ? 2 : 10),
  fvSize: num('--fv-size', quick ? 96 : 224),
  fvSteps: num('--fv-steps', quick ? 4 : 512),
  stockFvSteps: num('--stock-fv-steps', quick ? 1 : 32),
  fastStyleSize: num('--fast-style-size', quick ? 64 : 512),
  tsneN: num('--tsne-n', quick ? 200 : 10000),
  tsneDims: num('--tsne-dims', 50),
  tsneIterations: num('--tsne-iterations', quick ? 20 : 1000),
  stockTsneIterations: num('--stock-tsne-iterations', quick ? 2 : 50),
  knnN: num('--knn-n', quick ? 300 : 10000),
  knnD: num('--knn-d', 1280),
  knnK: num('--knn-k', 10),
  only: (opt('--only') ?? ALL_ROWS.join(',')).split(','),
  torch: !has('--no-torch'),
  torchDevice: opt('--torch-device') ?? 'cuda',
  profile: !has('--no-profile') && !quick,
  folded: has('--folded'),
  variants: has('--variants'),
  budgetS: num('--budget-s', 380),
  toggles: (opt('--toggles') ?? '').split(',').filter(Boolean),
  child: has('--child'),
  skipStock: has('--skip-stock'),
};
cfg.stockSamples = Math.min(cfg.samples, num('--stock-samples', quick ? 1 : 10));
cfg.stockSteps = Math.min(cfg.steps, num('--stock-steps', quick ? 1 : 20));
const unknown = cfg.only.filter((r) => !ALL_ROWS.includes(r));
if (unknown.length > 0) {
  console.error(`unknown rows in --only: ${unknown.join(', ')} (rows: ${ALL_ROWS.join(', ')})`);
  process.exit(2);
}

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
// Issue 21's targets where it names one (ms on an H100/H200); every row's other target is 1.5x PyTorch.
const TARGETS_MS: Record<string, number> = { saliency: 10, smoothgrad: 20, style: 1400 };

// ---------------------------------------------------------------------------------------------- tasks

function fixes(on: boolean) {
  if (on) registerKernelFixes('webgpu');
  else unregisterKernelFixes('webgpu');
}

/** Stock TF.js: the tfjs-layers model under tf.grad (fused conv gradients compute the filter gradients too). */
function stockSaliencyMap(model: MobileNetV2Spec['model'], img: tf.Tensor4D, onehot: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(model.apply(x) as tf.Tensor, onehot)))(img);
    return tf.max(tf.abs(g), -1);
  });
}

const profiles: KernelProfile[] = [];
let f16: F16Error | undefined;

/**
 * Runs `fn` with cnnviz's half-precision (shader-f16) convolution kernels, as `initBackend({ precision: 'float16' })`
 * does; where the device lacks shader-f16 the row is listed as skipped with the reason.
 */
async function float16(task: string, impl: string, fn: () => Promise<void>) {
  const on = setWebgpuPrecision('float16');
  try {
    if (on.precision !== 'float16') {
      rows.push({ task, impl, ms: NaN, runs: [], note: `skipped: ${on.why}` });
      console.log(`  ${task.padEnd(11)} ${impl}: skipped (${on.why})`);
      return;
    }
    await fn();
  } finally {
    setWebgpuPrecision('float32');
  }
}

/** Runs `fn` with 1x1 input gradients as matmuls (an A/B of core's flag, same machine, same call). */
async function flagged(fn: () => Promise<void>) {
  tf.env().set(POINTWISE_DX_MATMUL_FLAG, true);
  try {
    await fn();
  } finally {
    tf.env().set(POINTWISE_DX_MATMUL_FLAG, false);
  }
}

async function benchSaliency(spec: MobileNetV2Spec, lib: VisionModel, folded: VisionModel | undefined) {
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
  await flagged(() =>
    timeIt('saliency', `cnnviz saliency(), ${POINTWISE_DX_MATMUL_FLAG}`, () => lib1(lib), cfg.reps),
  );
  await float16('saliency', 'cnnviz saliency(), precision float16', () =>
    timeIt('saliency', 'cnnviz saliency(), precision float16', () => lib1(lib), cfg.reps),
  );
  if (folded !== undefined)
    await timeIt('saliency', 'cnnviz saliency() on folded model', () => lib1(folded), cfg.reps);
  memoryCheck('saliency', before);
  if (cfg.variants && !cfg.child && folded !== undefined) {
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
    fixes(false);
    profiles.push(
      await kernelProfile(
        'stock TF.js saliency',
        () => readAndDispose(stockSaliencyMap(spec.model, img4, onehot)),
        1,
        1,
      ),
    );
    printProfile(profiles[profiles.length - 1]);
    fixes(true);
    profiles.push(await kernelProfile('cnnviz saliency() on fromLayersModel', () => lib1(lib), 3, 3));
    printProfile(profiles[profiles.length - 1], 20);
  }
  tf.dispose([img4, img3, onehot]);
}

async function benchSmoothGrad(spec: MobileNetV2Spec, lib: VisionModel, folded: VisionModel | undefined) {
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
  await flagged(() =>
    timeIt('smoothgrad', `cnnviz smoothGrad(), ${POINTWISE_DX_MATMUL_FLAG}`, () => libSg(lib), sgReps, 1),
  );
  await float16('smoothgrad', 'cnnviz smoothGrad(), precision float16', () =>
    timeIt('smoothgrad', 'cnnviz smoothGrad(), precision float16', () => libSg(lib), sgReps, 1),
  );
  if (folded === undefined) {
    memoryCheck('smoothgrad', before);
    tf.dispose([img4, img3, onehot]);
    return;
  }
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

async function benchStyle(spec: MobileNetV2Spec, lib: VisionModel, folded: VisionModel | undefined) {
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
  const styleReps = Math.max(1, Math.min(2, cfg.reps));
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
  if (folded === undefined) {
    memoryCheck('style', before);
    tf.dispose([content, style, content3, style3]);
    return;
  }
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
  /** `<row>_ms` per row (saliency_ms, ig_ms, ...), `<row>_ms_error` where one failed. */
  [key: string]: string | number | undefined;
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
  const flags: [string, number | string][] = [
    ['--only', cfg.only.join(',')],
    ['--size', cfg.size],
    ['--samples', cfg.samples],
    ['--steps', cfg.steps],
    ['--style-size', cfg.styleSize],
    ['--reps', cfg.reps],
    ['--ig-steps', cfg.igSteps],
    ['--window', cfg.occlusionWindow],
    ['--stride', cfg.occlusionStride],
    ['--dream-octaves', cfg.dreamOctaves],
    ['--dream-steps', cfg.dreamSteps],
    ['--fv-size', cfg.fvSize],
    ['--fv-steps', cfg.fvSteps],
    ['--fast-style-size', cfg.fastStyleSize],
    ['--tsne-n', cfg.tsneN],
    ['--tsne-dims', cfg.tsneDims],
    ['--tsne-iterations', cfg.tsneIterations],
    ['--knn-n', cfg.knnN],
    ['--knn-d', cfg.knnD],
    ['--knn-k', cfg.knnK],
    ['--device', cfg.torchDevice],
  ];
  const args = [file, ...flags.flatMap(([f, v]) => [f, String(v)])];
  if (quick) args.push('--quick');
  const t0 = performance.now();
  // $PYTHON where the python3 on PATH lacks torch (this machine: PYTHON=/usr/bin/python3).
  const python = process.env.PYTHON ?? 'python3';
  const r = spawnSync(python, args, {
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  if (r.error) return { torch: 'unavailable', why: `${python}: ${r.error.message}` };
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

function label(task: string): string {
  switch (task) {
    case 'saliency':
      return `saliency ${cfg.size}px`;
    case 'smoothgrad':
      return `SmoothGrad-${cfg.samples} ${cfg.size}px`;
    case 'ig':
      return `IG-${cfg.igSteps} ${cfg.size}px`;
    case 'occlusion':
      return `occlusion ${cfg.occlusionWindow}/${cfg.occlusionStride} ${cfg.size}px`;
    case 'gradcam':
      return `Grad-CAM ${cfg.size}px`;
    case 'deepdream':
      return `DeepDream ${cfg.size}px, ${cfg.dreamOctaves}x${cfg.dreamSteps} steps`;
    case 'featvis':
      return `feature vis ${cfg.fvSize}px, ${cfg.fvSteps} steps`;
    case 'style':
      return `style ${cfg.styleSize}px, ${cfg.steps} steps`;
    case 'faststyle':
      return `fast style network ${cfg.fastStyleSize}px`;
    case 'tsne':
      return `t-SNE ${cfg.tsneN} x ${cfg.tsneDims}, ${cfg.tsneIterations} its`;
    default:
      return `kNN ${cfg.knnN} x ${cfg.knnD}, k=${cfg.knnK}`;
  }
}

function markdown(adapter: AdapterReport, torch: TorchResult): string {
  const torchName = torch.device ? `PyTorch ${torch.device === 'cpu' ? 'CPU' : 'CUDA'}` : 'PyTorch';
  const lines = [
    `Device: ${adapter.description || adapter.vendor} (${adapter.vendor}/${adapter.architecture}${adapter.software ? ', software' : ''}); PyTorch: ${torch.device ? `${torch.device}, torch ${torch.torch}` : `unavailable (${torch.why ?? ''})`}`,
    '',
    `| task | implementation | median ms | vs stock | ${torchName} ms | vs PyTorch | target ms |`,
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const task of ALL_ROWS) {
    const rs = rows.filter((r) => r.task === task);
    const stock = rs.find((r) => r.impl.startsWith('stock TF.js'))?.ms;
    const t = torch[`${task}_ms`];
    const tMs = typeof t === 'number' ? t : undefined;
    for (const r of rs) {
      const ok = Number.isFinite(r.ms);
      const ratio =
        stock !== undefined && Number.isFinite(stock) && ok ? `${(stock / r.ms).toFixed(1)}x` : '';
      const vsTorch = tMs !== undefined && ok ? `${(r.ms / tMs).toFixed(2)}x` : '';
      const target = TARGETS_MS[task] ?? (tMs !== undefined ? 1.5 * tMs : undefined);
      lines.push(
        `| ${label(task)} | ${r.impl}${r.note ? ` (${r.note})` : ''} | ${ok ? r.ms.toFixed(1) : 'failed'} | ${ratio} | ${tMs !== undefined ? tMs.toFixed(1) : '—'} | ${vsTorch} | ${target !== undefined ? target.toFixed(0) : '—'} |`,
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

  const attributionModel = async (which: 'saliency' | 'smoothgrad') => {
    const spec = buildMobileNetV2(cfg.size, 1000);
    const net = cfg.folded ? foldMobileNetV2(spec) : undefined;
    const lib = fromLayersModel(spec.model);
    const folded = net !== undefined ? foldedVisionModel(spec, net) : undefined;
    if (which === 'saliency') await benchSaliency(spec, lib, folded);
    else await benchSmoothGrad(spec, lib, folded);
    net?.dispose();
    spec.model.dispose();
  };
  const styleRow = async () => {
    const spec = buildMobileNetV2(cfg.styleSize, 1000);
    const net = cfg.folded ? foldMobileNetV2(spec) : undefined;
    const lib = fromLayersModel(spec.model, { outputLayer: LAST_STYLE_LAYER });
    const folded =
      net !== undefined ? foldedVisionModel(spec, net, { outputLayer: LAST_STYLE_LAYER }) : undefined;
    await benchStyle(spec, lib, folded);
    net?.dispose();
    spec.model.dispose();
  };
  const plan: Record<string, () => Promise<void>> = {
    saliency: () => attributionModel('saliency'),
    smoothgrad: () => attributionModel('smoothgrad'),
    ig: () => benchIg(cfg),
    occlusion: () => benchOcclusion(cfg),
    gradcam: () => benchGradCam(cfg),
    deepdream: () => benchDeepDream(cfg),
    featvis: () => benchFeatureVis(cfg),
    style: styleRow,
    faststyle: () => benchFastStyle(cfg),
    tsne: () => benchTsne(cfg),
    knn: () => benchKnn(cfg),
    f16: async () => {
      try {
        f16 = await f16Error(cfg.size, cfg.samples);
        console.log(`  f16         half precision vs f32 maps: ${JSON.stringify(f16)}`);
      } catch (e) {
        console.log(`  f16         FAILED ${(e as Error).message.split('\n')[0]}`);
      }
    },
  };
  // Rows run in the table's order; once the run has used --budget-s, the rest are listed as skipped, so that a
  // device call always ends with the figures it has (and time to rerun).
  for (const name of ALL_ROWS) {
    if (!cfg.only.includes(name)) continue;
    const elapsed = (performance.now() - t0) / 1000;
    if (elapsed > cfg.budgetS) {
      rows.push({
        task: name,
        impl: '(row)',
        ms: NaN,
        runs: [],
        note: `skipped: ${elapsed.toFixed(0)} s > --budget-s ${cfg.budgetS}`,
      });
      console.log(`  ${name.padEnd(11)} skipped (${elapsed.toFixed(0)} s used of --budget-s ${cfg.budgetS})`);
      continue;
    }
    const r0 = performance.now();
    await plan[name]();
    console.log(`  ${name.padEnd(11)} row took ${((performance.now() - r0) / 1000).toFixed(1)} s`);
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
  const result = {
    adapter,
    config: cfg,
    rows,
    torch,
    profiles,
    totalSeconds: (performance.now() - t0) / 1000,
  };
  const jsonPath = opt('--json');
  if (jsonPath !== undefined && jsonPath !== '-') writeFileSync(jsonPath, JSON.stringify(result, null, 2));
  console.log('\nRESULT_JSON ' + JSON.stringify(result));
  console.log('\n' + markdown(adapter, torch));
  if (f16 !== undefined) {
    const how =
      f16.mode === 'kernels'
        ? `cnnviz's shader-f16 kernels, ${f16.variant?.accumulate} accumulation, input gradients ${f16.variant?.gradients ? 'f16' : 'f32'}`
        : `emulated, no shader-f16 here (${f16.why}): every fused conv output rounded to f16, arithmetic f32`;
    const m = (e: { relErr: number; spearman: number; top5: number }) =>
      `max |error| / max |map| ${e.relErr.toExponential(2)}, Spearman ${e.spearman.toFixed(4)}, top-5 % overlap ${e.top5.toFixed(3)}`;
    console.log(
      `\nHalf precision vs float32 (${how}), ${f16.model}: saliency ${m(f16.saliency)}; SmoothGrad-${f16.smoothGrad.samples} ${m(f16.smoothGrad)}; Grad-CAM ${m(f16.gradCam)}. shader-f16 on this adapter: ${adapter.features.includes('shader-f16') ? 'yes' : 'no'}.`,
    );
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
