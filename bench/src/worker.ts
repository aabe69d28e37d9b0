// Runs one variant of one benchmark and prints its Measurement as a `RESULT {json}` line (run.ts spawns this).
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-core's Node entry registers no gradients; tfjs-layers does.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { registerKernelFixes } from '@cnnviz/core';
import { BENCHMARKS } from './benchmarks/index.js';
import { measure, type Variant } from './harness.js';

async function main(): Promise<void> {
  const [name, which] = process.argv.slice(2);
  const bench = BENCHMARKS.find((b) => b.name === name);
  if (bench === undefined) throw new Error(`unknown benchmark ${name}`);
  const v: Variant | undefined =
    which === 'cnnviz'
      ? bench.cnnviz
      : which.startsWith('extra')
        ? bench.extras?.[Number(which.slice(5))]
        : bench.stock[Number(which)];
  if (v === undefined) throw new Error(`unknown variant ${which}`);
  // Production mode: no per-op debug checks, and no "install tfjs-node" notice in the output. (Not IS_TEST: under it
  // the engine audits every kernel's buffer count and cnnviz's kernel fixes stop caching derived filters.)
  tf.env().set('PROD', true);
  await tf.setBackend(v.backend);
  await tf.ready();
  const installed = v.fixes ? registerKernelFixes(v.backend) : [];
  const m = await measure(v);
  process.stdout.write(`RESULT ${JSON.stringify({ ...m, fixesInstalled: installed })}\n`);
}

main().catch((e: unknown) => {
  process.stdout.write(
    `RESULT ${JSON.stringify({ ok: false, error: e instanceof Error ? e.message : String(e) })}\n`,
  );
  process.exitCode = 1;
});
