// Where cnnviz's feature-visualisation step spends its time: runs a few steps of visualizeUnit under tf.profile and
// prints the kernels by total time (forward and backward together; the WASM backend runs kernels synchronously, so
// their times add up to the step).
//
//   npx tsx --tsconfig tsconfig.json bench/src/feature-vis-profile.ts [--model inception-v3] [--steps 4] [--size 224]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { run } from '@cnnviz/core';
import { zoo } from '@cnnviz/models';
import { initBackend } from '@cnnviz/node';
import { visualizeUnit } from '@cnnviz/synthesis';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'inception-v3' },
    objective: { type: 'string' },
    steps: { type: 'string', default: '4' },
    size: { type: 'string', default: '224' },
    // The zoo model's input size (default: --size). InceptionV3's default 299 upsamples every step.
    'model-size': { type: 'string' },
    top: { type: 'string', default: '25' },
    calls: { type: 'boolean', default: false },
    // WASM threads (default: the cores); 1 gives per-kernel times free of thread-pool waits on a busy machine.
    threads: { type: 'string' },
  },
});
const size = Number(values.size);
const steps = Number(values.steps);
const modelSize = Number(values['model-size'] ?? size);
const backend = await initBackend(values.threads ? { threads: Number(values.threads) } : {});
const model =
  values.model === 'inception-v3'
    ? await zoo.inceptionV3Features({ inputSize: modelSize })
    : await zoo.mobilenetV2Features({ inputSize: modelSize });
const objective =
  values.objective ?? (values.model === 'inception-v3' ? 'mixed4:97' : 'block_13_expand_relu:42');
await run(visualizeUnit(model, objective, { steps: 2, size }));
const t0 = performance.now();
const c0 = process.cpuUsage();
const info = await tf.profile(() =>
  run(visualizeUnit(model, objective, { steps, size })).then(() => undefined),
);
const wall = performance.now() - t0;
const cu = process.cpuUsage(c0);
const cpu = (cu.user + cu.system) / 1000;
const byKernel = new Map<string, { ms: number; n: number }>();
for (const k of info.kernels) {
  const e = byKernel.get(k.name) ?? { ms: 0, n: 0 };
  e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
  e.n++;
  byKernel.set(k.name, e);
}
const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
console.log(
  `${values.model} ${objective}, ${size} px (network at ${modelSize} px), ${steps} steps on ${backend.name}: wall ${(wall / steps).toFixed(0)} ms/step, CPU ${(cpu / steps).toFixed(0)} ms/step (profiled), kernels ${(total / steps).toFixed(0)} ms/step; load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
for (const [name, e] of [...byKernel.entries()]
  .sort((a, b) => b[1].ms - a[1].ms)
  .slice(0, Number(values.top)))
  console.log(
    `  ${name.padEnd(32)} ${(e.ms / steps).toFixed(1).padStart(8)} ms/step  ${((100 * e.ms) / total).toFixed(1).padStart(5)} %  ${(e.n / steps).toFixed(0)} calls/step`,
  );
if (values.calls) {
  const calls = new Map<string, { ms: number; n: number }>();
  for (const k of info.kernels) {
    const key = `${k.name} ${JSON.stringify(k.inputShapes)} -> ${JSON.stringify(k.outputShapes)}`;
    const e = calls.get(key) ?? { ms: 0, n: 0 };
    e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    e.n++;
    calls.set(key, e);
  }
  console.log('slowest calls (same kernel and shapes summed):');
  for (const [key, e] of [...calls.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30))
    console.log(`  ${(e.ms / steps).toFixed(1).padStart(8)} ms/step  x${e.n / steps}  ${key}`);
}
