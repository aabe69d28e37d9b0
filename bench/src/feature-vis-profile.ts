// Where cnnviz's feature-visualisation step spends its time: runs a few steps of visualizeUnit with every kernel of
// the backend wrapped in a timer and prints the kernels by total time (forward and backward together). Only the
// outermost kernel of a nested call is counted (a fix that runs stock kernels inside counts once), and the WASM
// backend runs kernels synchronously, so the times add up to the step less the JavaScript around the kernels.
// Not tf.profile: on a backend without a kernel timer it reads every output back (dataSync) inside the timed span,
// which added ~25 % to the kernel times of this step (165 against 131 ms at 224 px).
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
    // The zoo model's input size (default --size + 24, the standard transforms' output, as feature-vis-bench.ts).
    'model-size': { type: 'string' },
    top: { type: 'string', default: '25' },
    calls: { type: 'boolean', default: false },
    // WASM threads (default: the cores); 1 gives per-kernel times free of thread-pool waits on a busy machine.
    threads: { type: 'string' },
  },
});
const size = Number(values.size);
const steps = Number(values.steps);
const modelSize = Number(values['model-size'] ?? size + 24);
const backend = await initBackend(values.threads ? { threads: Number(values.threads) } : {});
const model =
  values.model === 'inception-v3'
    ? await zoo.inceptionV3Features({ inputSize: modelSize })
    : await zoo.mobilenetV2Features({ inputSize: modelSize });
const objective =
  values.objective ?? (values.model === 'inception-v3' ? 'mixed4:97' : 'block_13_expand_relu:42');
await run(visualizeUnit(model, objective, { steps: 2, size }));

interface Call {
  name: string;
  key: string;
  ms: number;
}
const calls: Call[] = [];
let depth = 0;
let timing = false;
for (const cfg of tf.getKernelsForBackend(backend.name)) {
  const inner = cfg.kernelFunc;
  (cfg as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => {
    const outermost = timing && depth === 0;
    const t = performance.now();
    depth++;
    try {
      return inner(args);
    } finally {
      depth--;
      if (outermost) {
        const shapes = Object.values(args.inputs).map((x) => (x as tf.TensorInfo).shape);
        calls.push({
          name: cfg.kernelName,
          key: `${cfg.kernelName} ${JSON.stringify(shapes)}`,
          ms: performance.now() - t,
        });
      }
    }
  };
}
timing = true;
const t0 = performance.now();
const c0 = process.cpuUsage();
await run(visualizeUnit(model, objective, { steps, size }));
const wall = performance.now() - t0;
timing = false;
const cu = process.cpuUsage(c0);
const cpu = (cu.user + cu.system) / 1000;
const sum = (key: (c: Call) => string) => {
  const m = new Map<string, { ms: number; n: number }>();
  for (const c of calls) {
    const e = m.get(key(c)) ?? { ms: 0, n: 0 };
    e.ms += c.ms;
    e.n++;
    m.set(key(c), e);
  }
  return m;
};
const byKernel = sum((c) => c.name);
const total = calls.reduce((a, c) => a + c.ms, 0);
console.log(
  `${values.model} ${objective}, ${size} px (network at ${modelSize} px), ${steps} steps on ${backend.name}: wall ${(wall / steps).toFixed(0)} ms/step, CPU ${(cpu / steps).toFixed(0)} ms/step, kernels ${(total / steps).toFixed(0)} ms/step; load ${loadavg()
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
  console.log('slowest calls (same kernel and shapes summed):');
  for (const [key, e] of [...sum((c) => c.key).entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 30))
    console.log(`  ${(e.ms / steps).toFixed(1).padStart(8)} ms/step  x${e.n / steps}  ${key}`);
}
