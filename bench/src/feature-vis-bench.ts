// Feature visualisation at Lucid's defaults (Fourier parameterisation, decorrelated colour, pad/jitter/scale/rotate,
// Adam 0.05), cnnviz (visualizeUnit, WASM) against the same loop in PyTorch (bench/src/feature-vis-torch.py, same
// model shapes, random weights, 2 threads), run interleaved in one invocation so that both see the same load.
// Both networks run at the transformed image's size (--size + 24: Lucid's pad of 12 on each side), as Lucid's loop
// does: PyTorch's trunk takes any size, and cnnviz's zoo model is built at that size, so neither resizes. PyTorch
// runs with the environment's OpenMP settings (its defaults spin while waiting; on a shared machine
// OMP_WAIT_POLICY=PASSIVE keeps it from losing its time slices, and slows it by ~35 % on an idle one).
//
//   npx tsx --tsconfig tsconfig.json bench/src/feature-vis-bench.ts [--steps 64] [--size 224] [--rounds 1]
//       [--models inception-v3,mobilenet-v2] [--model-size N] [--ab-winograd]
// --ab-winograd also runs cnnviz with the stock WASM Conv2D/FusedConv2D kernels in each round (cnnviz's Winograd fixes
// uninstalled for that run), so that before/after see the same load.
// Prints one line per run, then per model: median ms per step for each and the ratio cnnviz / PyTorch, in wall time
// and in process CPU time (on a busy machine both are noisy; CPU time counts spin-waiting thread pools too).
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { run } from '@cnnviz/core';
import { zoo } from '@cnnviz/models';
import { initBackend } from '@cnnviz/node';
import { visualizeUnit } from '@cnnviz/synthesis';
import { installFix, uninstallFix } from '../../packages/core/src/kernels/registry.js';
import {
  wasmWinogradConv2dFix,
  wasmWinogradFusedConv2dFix,
} from '../../packages/core/src/kernels/wasm-winograd-conv2d.js';
import { PYTHON } from './python.js';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '64' },
    size: { type: 'string', default: '224' },
    // The network's input size for cnnviz (default --size + 24, the standard transforms' output).
    'model-size': { type: 'string' },
    rounds: { type: 'string', default: '1' },
    models: { type: 'string', default: 'inception-v3,mobilenet-v2' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    'ab-winograd': { type: 'boolean', default: false },
  },
});
const steps = Number(values.steps);
const size = Number(values.size);
const modelSize = Number(values['model-size'] ?? size + 24);
const rounds = Number(values.rounds);
const CASES = {
  'inception-v3': {
    objective: 'mixed4:97',
    channel: 97,
    load: () => zoo.inceptionV3Features({ inputSize: modelSize }),
  },
  'mobilenet-v2': {
    objective: 'block_13_expand_relu:42',
    channel: 42,
    load: () => zoo.mobilenetV2Features({ inputSize: modelSize }),
  },
} as const;

const load = () =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const backend = await initBackend({
  ...(values.backend ? { backend: values.backend } : {}),
  ...(values.threads ? { threads: Number(values.threads) } : {}),
});
console.log(
  `feature visualisation, ${size} px (cnnviz's network at ${modelSize} px), ${steps} steps; cnnviz on ${backend.name} (${backend.threads ?? '?'} threads); PyTorch OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? '(default)'}; load ${load()}`,
);
const summary: Record<string, unknown> = {};
for (const name of values.models!.split(',') as (keyof typeof CASES)[]) {
  const c = CASES[name];
  const model = await c.load();
  // One short warm-up so that kernel set-up and weight folding are not timed.
  await run(visualizeUnit(model, c.objective, { steps: 2, size }));
  const ours: number[] = [];
  const theirs: number[] = [];
  const oursCpu: number[] = [];
  const theirsCpu: number[] = [];
  const stockConv: number[] = [];
  const stockConvCpu: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await run(visualizeUnit(model, c.objective, { steps, size, seed: r }));
    ours.push(performance.now() - t0);
    const cu = process.cpuUsage(c0);
    oursCpu.push((cu.user + cu.system) / 1000);
    console.log(
      `  ${name} cnnviz  ${(ours[r] / 1000).toFixed(1)} s (CPU ${(oursCpu[r] / 1000).toFixed(1)} s)   load ${load()}`,
    );
    if (values['ab-winograd']) {
      const fixes = [wasmWinogradConv2dFix, wasmWinogradFusedConv2dFix];
      for (const f of fixes) uninstallFix(f.kernelName, f.backendName);
      const t1 = performance.now();
      const c1 = process.cpuUsage();
      await run(visualizeUnit(model, c.objective, { steps, size, seed: r }));
      stockConv.push(performance.now() - t1);
      const cu1 = process.cpuUsage(c1);
      stockConvCpu.push((cu1.user + cu1.system) / 1000);
      for (const f of fixes) installFix(f);
      console.log(
        `  ${name} cnnviz, stock conv ${(stockConv[r] / 1000).toFixed(1)} s (CPU ${(stockConvCpu[r] / 1000).toFixed(1)} s)   load ${load()}`,
      );
    }
    const py = spawnSync(
      PYTHON,
      [
        join(here, 'feature-vis-torch.py'),
        '--model',
        name,
        '--steps',
        String(steps),
        '--size',
        String(size),
      ].concat(['--channel', String(c.channel)]),
      { encoding: 'utf8' },
    );
    const line = py.stdout.split('\n').find((l) => l.startsWith('TORCH_JSON '));
    if (line === undefined)
      throw new Error(`${PYTHON} feature-vis-torch.py failed: ${py.stderr.slice(-500)}`);
    const t = JSON.parse(line.slice('TORCH_JSON '.length)) as { ms: number; cpuMs: number };
    theirs.push(t.ms);
    theirsCpu.push(t.cpuMs);
    console.log(
      `  ${name} PyTorch ${(t.ms / 1000).toFixed(1)} s (CPU ${(t.cpuMs / 1000).toFixed(1)} s)   load ${load()}`,
    );
  }
  model.dispose?.();
  const ratio = median(ours) / median(theirs);
  const cpuRatio = median(oursCpu) / median(theirsCpu);
  summary[name] = {
    cnnvizMs: median(ours),
    torchMs: median(theirs),
    ratio,
    cnnvizCpuMs: median(oursCpu),
    torchCpuMs: median(theirsCpu),
    cpuRatio,
    ...(stockConv.length > 0 ? { stockConvMs: median(stockConv), stockConvCpuMs: median(stockConvCpu) } : {}),
  };
  console.log(
    `${name.padEnd(13)} cnnviz ${(median(ours) / steps).toFixed(0)} ms/step, PyTorch ${(median(theirs) / steps).toFixed(0)} ms/step, ratio ${ratio.toFixed(2)} (CPU time ratio ${cpuRatio.toFixed(2)}; 512 steps: ~${((median(ours) / steps) * 0.512).toFixed(0)} s vs ~${((median(theirs) / steps) * 0.512).toFixed(0)} s)`,
  );
}
console.log(
  `RESULT ${JSON.stringify({ size, modelSize, ompWaitPolicy: process.env.OMP_WAIT_POLICY ?? null, steps, rounds, backend: backend.name, load: loadavg(), summary })}`,
);
