/**
 * Zoo benchmark: load time and forward time of each @cnnviz/models zoo model on the chosen backend.
 *
 *   npx tsx bench/src/zoo.ts [--backend wasm|cpu] [--iterations 5] [--only fashionCnn,mobilenetV2Features]
 *
 * `benchZoo` is exported for the bench harness: it uses whatever backend is active (the CLI sets it
 * up and installs cnnviz's kernel fixes). Load time covers decoding the bundled weights and
 * building the model; forward time is one batch-1 `forward` at the nominal input size (median),
 * beside stock tfjs-layers `predict` of the same backbone weights (`stock: false` skips it).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadNsfwjsBackbone, zoo, zooEntries, type ZooModel } from '@cnnviz/models';

export type ZooName = keyof typeof zoo;

export interface ZooBenchResult {
  model: ZooName;
  backend: string;
  inputSize: [number, number, number];
  loadMs: number;
  /** First forward (includes kernel compilation / warm-up). */
  firstForwardMs: number;
  forwardMedianMs: number;
  forwardTimesMs: number[];
  layers: number;
  /** Same weights run by stock tfjs-layers (`predict` of the cut LayersModel), for the backbones. */
  stockForwardMedianMs?: number;
  /** Tensors held by the loaded model (its weights). */
  weightTensors: number;
  /** Tensors left after dispose() minus before load: 0 means no leak. */
  leakedTensors: number;
}

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Loads each zoo model, times `forward` on a random image, disposes it; on the active backend. */
export async function benchZoo(
  options: { models?: ZooName[]; iterations?: number; stock?: boolean; log?: (line: string) => void } = {},
): Promise<ZooBenchResult[]> {
  const names = options.models ?? (Object.keys(zoo) as ZooName[]);
  const iterations = options.iterations ?? 5;
  const results: ZooBenchResult[] = [];
  for (const name of names) {
    const start = tf.memory().numTensors;
    const t0 = performance.now();
    const model: ZooModel = await zoo[name]();
    const loadMs = performance.now() - t0;
    const weightTensors = tf.memory().numTensors - start;
    const [h, w, c] = zooEntries[name].inputSize;
    const img = tf.randomUniform([1, h, w, c], 0, 1, 'float32', 1) as tf.Tensor4D;
    const run = async () => {
      const s = performance.now();
      const out = tf.tidy(() => model.forward(model.preprocess(img)).logits);
      await out.data(); // forces execution on async backends
      out.dispose();
      return performance.now() - s;
    };
    const firstForwardMs = await run();
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) times.push(await run());
    const layers = model.layers.length;
    model.dispose?.();
    let stockForwardMedianMs: number | undefined;
    const cut = {
      mobilenetV2Features: ['mobilenet_v2', 'out_relu'],
      inceptionV3Features: ['inception_v3', 'mixed10'],
    } as const;
    if (options.stock !== false && name in cut) {
      const [bundle, layer] = cut[name as keyof typeof cut];
      const stock: tfl.LayersModel = await loadNsfwjsBackbone(bundle, layer, h);
      const st: number[] = [];
      for (let i = 0; i <= iterations; i++) {
        const s = performance.now();
        const y = stock.predict(img) as tf.Tensor;
        await y.data();
        y.dispose();
        if (i > 0) st.push(performance.now() - s); // first run is warm-up
      }
      stockForwardMedianMs = median(st);
      stock.dispose();
    }
    img.dispose();
    const r: ZooBenchResult = {
      model: name,
      backend: tf.getBackend(),
      inputSize: [h, w, c],
      loadMs,
      firstForwardMs,
      forwardMedianMs: median(times),
      forwardTimesMs: times,
      stockForwardMedianMs,
      layers,
      weightTensors,
      leakedTensors: tf.memory().numTensors - start,
    };
    options.log?.(
      `${name.padEnd(20)} ${r.backend.padEnd(5)} ${`${h}x${w}x${c}`.padEnd(10)} load ${loadMs.toFixed(0).padStart(6)} ms  ` +
        `forward ${r.forwardMedianMs.toFixed(1).padStart(8)} ms (first ${firstForwardMs.toFixed(0)} ms` +
        `${stockForwardMedianMs === undefined ? '' : `; stock tfjs-layers predict ${stockForwardMedianMs.toFixed(1)} ms`})` +
        `  ${layers} layers, leaked ${r.leakedTensors}`,
    );
    results.push(r);
  }
  return results;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (k: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const backend = arg('--backend') ?? 'wasm';
  await import('@tensorflow/tfjs-backend-cpu');
  if (backend === 'wasm') await import('@tensorflow/tfjs-backend-wasm');
  await tf.setBackend(backend);
  await tf.ready();
  const core = await import('@cnnviz/core');
  core.registerKernelFixes(backend);
  const only = arg('--only')?.split(',') as ZooName[] | undefined;
  await benchZoo({ models: only, iterations: Number(arg('--iterations') ?? 5), log: console.log });
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
