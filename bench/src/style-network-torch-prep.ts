// Prepares a folder for bench/src/train-style-network-torch.py, which trains a fast style network in PyTorch on the
// same loss as `trainStyleNetwork` (about 20x faster per crop pixel than TF.js on WASM on the same 2 cores). Writes:
//   graph.json + weights.bin  the zoo MobileNetV2 backbone (keras-export.ts), the loss network;
//   gram-<name>.bin           each painting's Gram matrices at the style layers (float32, one after the other), from
//                             the painting resized so its longest side is --style-size, by the model that
//                             style-network-eval.ts judges with (zoo MobileNetV2 at that input size);
//   parity.bin + meta.json    two smooth test images and cnnviz's own content / style / TV loss between them and
//                             against each painting, which the trainer reproduces before it starts (a wrong layer,
//                             preprocessing or normalisation stops it).
//
//   npx tsx --tsconfig tsconfig.json bench/src/style-network-torch-prep.ts --out /tmp/style-torch \
//       [--style starry_night --style scream] [--style-size 256]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { resize } from '@cnnviz/core';
import { images, zoo, zooEntries, zooLayersModel } from '@cnnviz/models';
import { initBackend, readImage } from '@cnnviz/node';
import { contentLoss, gramTargets, styleLoss, tvLoss } from '@cnnviz/synthesis';
import { exportKerasGraph } from './keras-export.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    style: { type: 'string', multiple: true, default: ['starry_night', 'scream'] },
    'style-size': { type: 'string', default: '256' },
  },
});
if (!values.out) throw new Error('--out DIR is required');
const out = values.out;
mkdirSync(out, { recursive: true });
const styleSize = Number(values['style-size']);

await initBackend({ backend: 'wasm' });
const { content, style: styleLayers } = zooEntries.mobilenetV2Features.layersOfInterest;
await exportKerasGraph(await zooLayersModel('mobilenetV2Features', { inputSize: 128 }), out);
const model = await zoo.mobilenetV2Features({ inputSize: 128 });
const judge = await zoo.mobilenetV2Features({ inputSize: styleSize });

const bin = async (t: tf.Tensor) => Buffer.from(((await t.data()) as Float32Array).slice().buffer);
// Smooth test images (sums of low-frequency sines), 128 px, so the losses are of the size training meets.
const parity = tf.tidy(() => {
  const [ys, xs] = tf.meshgrid(tf.linspace(0, 1, 128), tf.linspace(0, 1, 128), { indexing: 'ij' });
  const wave = (a: number, b: number, c: number) =>
    tf.add(0.5, tf.mul(0.4, tf.sin(tf.add(tf.add(tf.mul(ys, a), tf.mul(xs, b)), c))));
  const img = (k: number) => tf.stack([wave(3 + k, 5, 0.3 * k), wave(7, 2 + k, 1), wave(1, 9 - k, 2)], 2);
  return tf.stack([img(0), img(2)]) as tf.Tensor4D;
});
const acts = model.forward(model.preprocess(parity), [content, ...styleLayers], {
  logits: false,
}).activations;
const first = (t: tf.Tensor) => tf.slice(t, 0, 1);
const meta: Record<string, unknown> = {
  content,
  styleLayers,
  styleSize,
  contentLoss: (
    await tf.tidy(() => contentLoss(first(acts[content]), tf.slice(acts[content], 1, 1))).data()
  )[0],
  tvLoss: (await tf.tidy(() => tvLoss(tf.slice(parity, 0, 1))).data())[0],
  styles: {} as Record<string, { grams: number[][]; styleLoss: number }>,
};
writeFileSync(join(out, 'parity.bin'), await bin(parity));
for (const name of values.style!) {
  const raw = name.includes('.')
    ? await readImage(name, { channels: 3 })
    : await images.load(name as 'starry_night');
  const [h, w] = raw.shape;
  const k = styleSize / Math.max(h, w);
  const painting = resize(raw, [Math.round(h * k), Math.round(w * k)]);
  const targets = gramTargets(judge, painting, styleLayers);
  const layerWeights = styleLayers.map(() => 1 / styleLayers.length);
  const s = tf.tidy(() =>
    styleLoss(
      styleLayers.map((l) => first(acts[l])),
      targets,
      layerWeights,
    ),
  );
  const key = name.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_-]+/g, '_');
  (meta.styles as Record<string, unknown>)[key] = {
    grams: targets.map((t) => t.shape),
    styleLoss: (await s.data())[0],
  };
  writeFileSync(join(out, `gram-${key}.bin`), Buffer.concat(await Promise.all(targets.map(bin))));
  tf.dispose([raw, painting, s, ...targets]);
}
writeFileSync(join(out, 'meta.json'), JSON.stringify(meta, null, 1));
console.log(JSON.stringify(meta));
