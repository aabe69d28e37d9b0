// Half precision on WebGPU (issue 21, item 2): the error of cnnviz's shader-f16 convolution kernels against float32
// on the trained zoo MobileNetV2 (chelsea, 224 px, its most active output as target) — saliency, SmoothGrad and
// Grad-CAM maps, with f32 and with f16 accumulation — and the wall time of saliency / SmoothGrad in each precision.
// On lavapipe (software Vulkan) the times say nothing about f16 speed on a GPU; the packed GPU bench measures that.
//
//   npx tsx --tsconfig tsconfig.json bench/src/webgpu-f16.ts [--samples 8] [--reps 3] [--json PATH]
//     [--variant 0|1|2 --errors-only]   (variants: f32 accumulation; f16 accumulation; f16 forward only)
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { F16_ACCUMULATE_FLAG, resize, setWebgpuPrecision } from '@cnnviz/core';
import { images, zoo } from '@cnnviz/models';
import { saliency, smoothGrad } from '@cnnviz/attribution';
import { initBackend } from '@cnnviz/node';
import { f16Error, type F16Variant } from '../gpu/f16-error.js';

const { values } = parseArgs({
  options: {
    samples: { type: 'string', default: '8' },
    reps: { type: 'string', default: '3' },
    json: { type: 'string' },
    // Only one variant of the error table (its index), and no timings: a quick check.
    variant: { type: 'string' },
    'errors-only': { type: 'boolean', default: false },
  },
});
const only = values.variant;
const samples = Number(values.samples);
const reps = Number(values.reps);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

const info = await initBackend({ backend: 'webgpu', precision: 'float16', strict: true });
console.log(`backend: ${info.name}, adapter: ${info.adapter?.description}; ${info.precisionReason}`);
setWebgpuPrecision('float32');

const VARIANTS: F16Variant[] = [
  { accumulate: 'float32', gradients: true },
  { accumulate: 'float16', gradients: true },
  { accumulate: 'float32', gradients: false },
];
const errors = [];
for (const v of only === undefined ? VARIANTS : [VARIANTS[Number(only)]]) {
  const e = await f16Error(224, samples, v);
  console.log(`error, ${JSON.stringify(v)}: ${JSON.stringify(e)}`);
  errors.push(e);
}
if (values['errors-only']) process.exit(0);

// Wall time per call, median of `reps` after one warm-up (shader compilation), in each precision.
const model = await zoo.mobilenetV2Features({ inputSize: 224 });
const cat = await images.load('chelsea', { channels: 3 });
const image = resize(cat, [224, 224]) as tf.Tensor3D;
cat.dispose();
const target = 0;
async function median(fn: () => Promise<void>): Promise<number> {
  await fn();
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    ts.push(performance.now() - t0);
  }
  return ts.sort((a, b) => a - b)[Math.floor(ts.length / 2)];
}
const timings: Record<string, number | string> = { loadBefore: load() };
for (const precision of ['float32', 'float16'] as const) {
  for (const accumulate of precision === 'float16' ? (['float32', 'float16'] as const) : (['-'] as const)) {
    if (accumulate !== '-') tf.env().set(F16_ACCUMULATE_FLAG, accumulate);
    setWebgpuPrecision(precision);
    const key = precision === 'float32' ? 'float32' : `float16 (${accumulate} accumulation)`;
    const before = tf.memory().numTensors;
    timings[`saliency ms, ${key}`] = await median(async () => {
      const r = await saliency(model, image, { target });
      await r.map.data();
      r.dispose();
    });
    timings[`SmoothGrad-${samples} ms, ${key}`] = await median(async () => {
      const r = await smoothGrad(model, image, { target, samples, seed: 1 });
      await r.map.data();
      r.dispose();
    });
    if (tf.memory().numTensors !== before) throw new Error(`tensor leak in ${key}`);
    console.log(`${key}: ${JSON.stringify(timings)}`);
  }
}
setWebgpuPrecision('float32');
timings.loadAfter = load();
image.dispose();
const result = { date: new Date().toISOString(), backend: info.adapter, samples, reps, errors, timings };
if (values.json) writeFileSync(values.json, JSON.stringify(result, null, 2));
console.log(JSON.stringify(result, null, 2));
