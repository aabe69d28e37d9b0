// Runs variants of benchmarks and prints each Measurement as a `RESULT <name> <which> {json}` line (run.ts spawns
// this): `worker.ts <which> <name>[,<name>...]`, where which is 'cnnviz', 'extra<i>' or a stock index. All named
// variants must share their backend set-up (run.ts groups them): one process for a full run's variant, so that its
// peak RSS is its own, and one for all of --quick's cnnviz variants.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-core's Node entry registers no gradients; tfjs-layers does.
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@cnnviz/node';
import { BENCHMARKS } from './benchmarks/index.js';
import { measure, type Variant } from './harness.js';

function variantOf(name: string, which: string): Variant | undefined {
  const bench = BENCHMARKS.find((b) => b.name === name);
  if (bench === undefined) return undefined;
  return which === 'cnnviz'
    ? bench.cnnviz
    : which.startsWith('extra')
      ? bench.extras?.[Number(which.slice(5))]
      : bench.stock[Number(which)];
}

async function main(): Promise<void> {
  const [which, list] = process.argv.slice(2);
  const names = list.split(',');
  const variants = names.map((n) => {
    const v = variantOf(n, which);
    if (v === undefined) throw new Error(`unknown variant ${n} ${which}`);
    return v;
  });
  const { backend, fixes } = variants[0];
  // Production mode: no per-op debug checks, and no "install tfjs-node" notice in the output. (Not IS_TEST: under it
  // the engine audits every kernel's buffer count and cnnviz's kernel fixes stop caching derived filters.)
  tf.env().set('PROD', true);
  let fixesInstalled: string[] = [];
  if (fixes) {
    // What a cnnviz user gets: @cnnviz/node's backend (threaded WASM, self-test, kernel fixes).
    fixesInstalled = (await initBackend({ backend, strict: true })).fixes;
  } else {
    if (backend === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
    await tf.setBackend(backend);
    await tf.ready();
  }
  for (let i = 0; i < names.length; i++) {
    const m = await measure(variants[i]);
    process.stdout.write(`RESULT ${names[i]} ${which} ${JSON.stringify({ ...m, fixesInstalled })}\n`);
  }
}

main().catch((e: unknown) => {
  process.stdout.write(`FAILED ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
  process.exitCode = 1;
});
