// 300 mutated model.json / weight sets from a fixed seed: each must load (and run a forward pass)
// or fail with a CnnvizError that has a code, within 2 s and 1 GB of RSS growth, leaking no tensor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CnnvizError, createRng, type Rng } from '@cnnviz/core';
import { loadModel } from './load.js';

const CASES = 300;
const SEED = 17;
const dir = mkdtempSync(join(tmpdir(), 'cnnviz-modelfuzz-'));
const ASSETS = join(dirname(fileURLToPath(import.meta.url)), '../assets/fashion-cnn');

interface ModelSet {
  name: string;
  json: Record<string, unknown>;
  weights: Uint8Array;
}
const sets: ModelSet[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
  const m = tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        inputShape: [6, 6, 1],
        filters: 2,
        kernelSize: 3,
        activation: 'relu',
        name: 'conv',
      }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool' }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 3, activation: 'softmax', name: 'out' }),
    ],
  });
  await m.save(
    tf.io.withSaveHandler(async (art) => {
      sets.push({
        name: 'tiny',
        json: {
          format: 'layers-model',
          modelTopology: art.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }],
        },
        weights: new Uint8Array(tf.io.CompositeArrayBuffer.join(art.weightData!)),
      });
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  m.dispose();
  sets.push({
    name: 'fashion-cnn',
    json: JSON.parse(readFileSync(join(ASSETS, 'model.json'), 'utf8')) as Record<string, unknown>,
    weights: readFileSync(join(ASSETS, 'weights.bin')),
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];
const VALUES: unknown[] = [
  -1,
  0,
  1,
  1.5,
  1e9,
  2 ** 53,
  '',
  'x',
  '../../etc/passwd',
  null,
  true,
  [],
  {},
  [-1, 3],
  { class_name: 'Lambda' },
];
const CLASSES = [
  'Lambda',
  'Foo',
  '__proto__',
  'constructor',
  'toString',
  'TFOpLambda',
  'Dense',
  'Conv2D',
  'InputLayer',
  'Functional',
];

/** Every [parent, key] in a JSON tree, for picking a node to change. */
function nodes(v: unknown, out: [Record<string, unknown> | unknown[], string | number][] = []) {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), nodes(x, out)));
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) {
      out.push([v as Record<string, unknown>, k]);
      nodes(x, out);
    }
  return out;
}

function mutate(rng: Rng, set: ModelSet): { how: string; text: string; weights: Uint8Array | undefined } {
  const json = structuredClone(set.json);
  let weights: Uint8Array | undefined = Uint8Array.from(set.weights);
  let text: string | undefined;
  const kind = pick(rng, [
    'node',
    'node',
    'delete',
    'class',
    'shape',
    'dtype',
    'path',
    'text',
    'weights',
    'noweights',
  ] as const);
  let how: string = kind;
  const all = nodes(json);
  const manifest = json.weightsManifest as { paths: unknown[]; weights: Record<string, unknown>[] }[];
  switch (kind) {
    case 'node': {
      const [p, k] = pick(rng, all);
      const v = pick(rng, VALUES);
      (p as Record<string | number, unknown>)[k] = structuredClone(v);
      how = `${String(k)} = ${JSON.stringify(v)}`;
      break;
    }
    case 'delete': {
      const [p, k] = pick(rng, all);
      if (Array.isArray(p)) p.splice(k as number, 1);
      else delete p[k as string];
      how = `delete ${String(k)}`;
      break;
    }
    case 'class': {
      const cls = all.filter(([, k]) => k === 'class_name');
      const [p, k] = pick(rng, cls);
      const c = pick(rng, CLASSES);
      (p as Record<string, unknown>)[k as string] = c;
      how = `class_name = ${c}`;
      break;
    }
    case 'shape': {
      const w = pick(rng, manifest[0].weights);
      w.shape = pick(rng, [[], [0], [-1], [3, 3, 1, 2], [65536, 65536], [2.5], [1e6], ['a']]);
      how = `shape of ${String(w.name)} = ${JSON.stringify(w.shape)}`;
      break;
    }
    case 'dtype': {
      const w = pick(rng, manifest[0].weights);
      w.dtype = pick(rng, ['int32', 'bool', 'string', 'float64', 'complex64', 7]);
      if (rng() < 0.5)
        w.quantization = pick(rng, [
          { dtype: 'uint8', scale: 1, min: 0 },
          { dtype: 'float16' },
          { dtype: 'int4' },
          'x',
        ]);
      how = `dtype of ${String(w.name)} = ${JSON.stringify(w.dtype)} ${JSON.stringify(w.quantization)}`;
      break;
    }
    case 'path': {
      manifest[0].paths = [
        pick(rng, [
          '../weights.bin',
          '/etc/passwd',
          'missing.bin',
          '',
          'sub/../weights.bin',
          'weights.bin\u0000x',
          '.',
        ]),
      ];
      how = `paths = ${JSON.stringify(manifest[0].paths)}`;
      break;
    }
    case 'text': {
      const t = JSON.stringify(json);
      if (rng() < 0.5) {
        const n = Math.floor(rng() * t.length);
        text = t.slice(0, n);
        how = `model.json cut to ${n} chars`;
      } else {
        const chars = t.split('');
        for (let i = 0; i < 4; i++)
          chars[Math.floor(rng() * chars.length)] = String.fromCharCode(32 + Math.floor(rng() * 95));
        text = chars.join('');
        how = 'model.json with 4 random characters';
      }
      break;
    }
    case 'weights': {
      const r = rng();
      if (r < 0.3) weights = weights.subarray(0, Math.floor(rng() * weights.length));
      else if (r < 0.5) weights = new Uint8Array([...weights, ...new Uint8Array(1 + Math.floor(rng() * 64))]);
      else {
        // Flipped bits: NaN and huge weights are still weights; the model must still run.
        for (let i = 0; i < 32; i++)
          weights[Math.floor(rng() * weights.length)] ^= 1 << Math.floor(rng() * 8);
      }
      how = `weights ${r < 0.3 ? 'truncated' : r < 0.5 ? 'extended' : 'bit-flipped'}`;
      break;
    }
    case 'noweights':
      weights = undefined;
      break;
  }
  return { how, text: text ?? JSON.stringify(json), weights };
}

describe('fuzzed model files', () => {
  it(`${CASES} mutated model.json/weight sets: a working model or a typed CnnvizError each, within 2 s and 1 GB`, async () => {
    const rng = createRng(SEED);
    const counts: Record<string, number> = {};
    const bad: string[] = [];
    let slowest = 0;
    let maxGrowth = 0;
    const rss0 = process.memoryUsage().rss;
    const tensors0 = tf.memory().numTensors;
    for (let i = 0; i < CASES; i++) {
      const set = rng() < 0.25 ? sets[1] : sets[0];
      const { how, text, weights } = mutate(rng, set);
      const f = join(dir, `case-${i}`);
      mkdirSync(f);
      writeFileSync(join(f, 'model.json'), text);
      if (weights) writeFileSync(join(f, 'weights.bin'), weights);
      const t0 = performance.now();
      const before = tf.memory().numTensors;
      try {
        const m = await loadModel(join(f, 'model.json'));
        try {
          // A result means a model that runs: one forward pass on a blank image.
          const [h, w, c] = m.inputShape;
          const x = tf.zeros([1, h ?? 8, w ?? 8, c]) as tf.Tensor4D;
          const out = m.forward(x);
          const logits = await out.logits!.data();
          if (logits.length === 0) bad.push(`#${i} ${set.name} ${how}: no logits`);
          tf.dispose([x, out.logits!, ...Object.values(out.activations)]);
          counts.loaded = (counts.loaded ?? 0) + 1;
        } finally {
          m.dispose?.();
        }
      } catch (e) {
        if (CnnvizError.isInstance(e)) counts[e.code] = (counts[e.code] ?? 0) + 1;
        else bad.push(`#${i} ${set.name} ${how}: untyped ${String(e).slice(0, 200)}`);
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      if (ms > 2000) bad.push(`#${i} ${set.name} ${how}: took ${Math.round(ms)} ms`);
      if (tf.memory().numTensors !== before)
        bad.push(`#${i} ${set.name} ${how}: leaked ${tf.memory().numTensors - before} tensors`);
      maxGrowth = Math.max(maxGrowth, process.memoryUsage().rss - rss0);
      rmSync(f, { recursive: true, force: true });
    }
    console.log(
      `model fuzz: ${CASES} cases (seed ${SEED}) → ${JSON.stringify(counts)}; slowest ${Math.round(slowest)} ms; max RSS growth ${(maxGrowth / 2 ** 20).toFixed(0)} MiB`,
    );
    expect(bad).toEqual([]);
    expect(maxGrowth).toBeLessThan(2 ** 30);
    expect(tf.memory().numTensors).toBe(tensors0);
    expect(counts.loaded).toBeGreaterThan(20);
    expect(counts.MODEL_LOAD).toBeGreaterThan(100);
  }, 180_000);
});
