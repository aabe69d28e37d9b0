/**
 * Soak: many calls of saliency, Grad-CAM and guided backprop and many style steps in one process
 * on the bundled fashionCnn, sampling RSS and tf.memory().numTensors as it goes. After a warm-up,
 * RSS should stay within 5 % and the tensor count should not move.
 *
 *   tsx bench/src/soak.ts [--calls 1000] [--style-steps 200] [--warmup 100] [--backend wasm]
 *
 * `soak()` is the same run as a function, for a harness to import.
 */
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { gradCam, guidedBackprop, saliency } from '@cnnviz/attribution';
import { transferStyle } from '@cnnviz/synthesis';
import { images, zoo } from '@cnnviz/models';
import { initBackend } from '@cnnviz/node';

export interface SoakOptions {
  /** Calls of each attribution technique (default 1000). */
  calls?: number;
  /** Style-transfer steps (default 200). */
  styleSteps?: number;
  /** Calls of each technique before the RSS baseline is taken (default 100). */
  warmup?: number;
  /** Backend for initBackend (default: the fastest that works). */
  backend?: string;
}

export interface SoakReport {
  backend: string;
  calls: number;
  styleSteps: number;
  msPerCall: number;
  msPerStyleStep: number;
  /** RSS after the warm-up, the largest seen after it, and at the end (MiB). */
  rssWarmMiB: number;
  rssMaxMiB: number;
  rssEndMiB: number;
  /** (max − warm) / warm, in percent: the figure to keep under 5. */
  rssGrowthPct: number;
  tensorsWarm: number;
  tensorsEnd: number;
  load: string;
}

const mib = () => process.memoryUsage().rss / 2 ** 20;

export async function soak(options: SoakOptions = {}): Promise<SoakReport> {
  const calls = options.calls ?? 1000;
  const styleSteps = options.styleSteps ?? 200;
  const warmup = Math.min(options.warmup ?? 100, calls);
  const info = await initBackend(options.backend ? { backend: options.backend } : {});
  const model = await zoo.fashionCnn();
  const bag = (await images.load('fashion-bag')) as tf.Tensor3D;
  const shirt = (await images.load('fashion-shirt')) as tf.Tensor3D;
  const round = async () => {
    (await saliency(model, bag, { target: 8 })).dispose();
    (await gradCam(model, bag, { target: 8, layer: 'conv3' })).dispose();
    (await guidedBackprop(model, bag, { target: 8 })).dispose();
  };
  for (let i = 0; i < warmup; i++) await round();
  // A short style run in the warm-up too, so its kernels and buffers exist before the baseline.
  for await (const s of transferStyle(model, shirt, [{ image: bag, weight: 1 }], {
    contentLayer: 'conv3',
    styleLayers: ['conv1', 'conv2'],
    steps: 5,
  }))
    s.image?.dispose();
  (globalThis as { gc?: () => void }).gc?.();
  const rssWarm = mib();
  const tensorsWarm = tf.memory().numTensors;
  let rssMax = rssWarm;
  const t0 = performance.now();
  for (let i = warmup; i < calls; i++) {
    await round();
    if (i % 50 === 0) rssMax = Math.max(rssMax, mib());
  }
  const msPerCall = (performance.now() - t0) / Math.max(1, calls - warmup) / 3;
  const t1 = performance.now();
  let step = 0;
  let last: tf.Tensor | undefined;
  for await (const s of transferStyle(model, shirt, [{ image: bag, weight: 1 }], {
    contentLayer: 'conv3',
    styleLayers: ['conv1', 'conv2'],
    steps: styleSteps,
  })) {
    if (s.image && s.image !== last) {
      last?.dispose();
      last = s.image;
    }
    if (++step % 20 === 0) rssMax = Math.max(rssMax, mib());
  }
  last?.dispose();
  const msPerStyleStep = (performance.now() - t1) / styleSteps;
  (globalThis as { gc?: () => void }).gc?.();
  const rssEnd = mib();
  rssMax = Math.max(rssMax, rssEnd);
  const report: SoakReport = {
    backend: info.name,
    calls,
    styleSteps,
    msPerCall: Number(msPerCall.toFixed(2)),
    msPerStyleStep: Number(msPerStyleStep.toFixed(2)),
    rssWarmMiB: Math.round(rssWarm),
    rssMaxMiB: Math.round(rssMax),
    rssEndMiB: Math.round(rssEnd),
    rssGrowthPct: Number((((rssMax - rssWarm) / rssWarm) * 100).toFixed(1)),
    tensorsWarm,
    tensorsEnd: tf.memory().numTensors,
    load: loadavg()
      .map((l) => l.toFixed(1))
      .join(' '),
  };
  tf.dispose([bag, shirt]);
  model.dispose?.();
  return report;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const num = (name: string) => (arg(name) === undefined ? undefined : Number(arg(name)));
  const report = await soak({
    calls: num('calls'),
    styleSteps: num('style-steps'),
    warmup: num('warmup'),
    backend: arg('backend'),
  });
  console.log(JSON.stringify(report));
  process.exit(report.rssGrowthPct <= 5 && report.tensorsEnd === report.tensorsWarm ? 0 : 1);
}
