/**
 * Activations of the zoo backbones on a fixed input, written to packages/models/src/zoo-reference.json: the
 * reference that packages/models/src/zoo-weights.test.ts holds the zoo's weight packages to (1e-6). They come
 * from the nsfwjs loader that @cnnviz/models 0.1.0 used before the weights moved to @cnnviz/zoo-* (the file was
 * first written by that release's own `zoo`, and this script reproduces it byte for byte).
 *
 *   npm run reference -w @cnnviz/zoo-extract
 */
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { images } from '@cnnviz/models';
import { nsfwjsBackbone } from './nsfwjs-bundles.js';

/** At most this many values per tap, evenly strided over the flattened tensor. */
const SAMPLES = 400;

export const REFERENCE_CASES = [
  {
    model: 'mobilenetV2Features' as const,
    inputSize: 224,
    taps: ['Conv1_relu', 'block_2_add', 'block_6_expand_relu', 'block_13_expand_relu', 'out_relu'],
  },
  { model: 'mobilenetV2Features' as const, inputSize: 96, taps: ['expanded_conv_project_BN', 'out_relu'] },
  {
    model: 'inceptionV3Features' as const,
    inputSize: 75,
    taps: ['activation_1', 'mixed0', 'mixed2', 'mixed5', 'mixed7', 'mixed10'],
  },
  { model: 'inceptionV3Features' as const, inputSize: 139, taps: ['mixed3', 'mixed10'] },
];

export interface TapSummary {
  shape: number[];
  sum: number;
  sumAbs: number;
  stride: number;
  samples: number[];
}

export function summarise(t: tf.Tensor): TapSummary {
  const v = t.dataSync();
  const stride = Math.max(1, Math.ceil(v.length / SAMPLES));
  let sum = 0;
  let sumAbs = 0;
  for (let i = 0; i < v.length; i++) {
    sum += v[i];
    sumAbs += Math.abs(v[i]);
  }
  const samples: number[] = [];
  for (let i = 0; i < v.length; i += stride) samples.push(v[i]);
  return { shape: t.shape, sum, sumAbs, stride, samples };
}

/** The input: the bundled chelsea photo, resized bilinearly to the case's size. */
export async function referenceInput(size: number): Promise<tf.Tensor4D> {
  const cat = await images.load('chelsea');
  const x = tf.tidy(() => tf.expandDims(tf.image.resizeBilinear(cat, [size, size]), 0)) as tf.Tensor4D;
  cat.dispose();
  return x;
}

async function main() {
  await tf.setBackend('cpu');
  const out = [];
  for (const c of REFERENCE_CASES) {
    const model = await nsfwjsBackbone(c.model, c.inputSize);
    const x = await referenceInput(c.inputSize);
    const px = model.preprocess(x);
    const r = model.forward(px, c.taps);
    const taps = Object.fromEntries(c.taps.map((t) => [t, summarise(r.activations[t])]));
    out.push({ ...c, logits: summarise(r.logits!), taps });
    tf.dispose([x, px, r.logits!, ...Object.values(r.activations)]);
    model.dispose!();
    console.log(`${c.model} ${c.inputSize}px: ${c.taps.length} taps`);
  }
  const file = fileURLToPath(new URL('../../packages/models/src/zoo-reference.json', import.meta.url));
  const json = JSON.stringify({ input: 'images/chelsea.jpg resized bilinearly; cpu backend', cases: out });
  // In the repo's prettier style, so that a rerun with unchanged numbers changes nothing.
  writeFileSync(file, await format(json, { ...(await resolveConfig(file)), filepath: file }));
  console.log(`wrote ${file}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
