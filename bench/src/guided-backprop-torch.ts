// Guided backprop and deconvnet of one intermediate channel: cnnviz (TF.js) against PyTorch on the same
// weights and image. The model's Keras graph and weights are exported, bench/src/keras_torch.py runs them in
// torch with its own guided / deconvnet ReLU (autograd.Function), and this prints the max relative difference
// (max |cnnviz - torch| / max |torch|) per rule, and writes image | cnnviz | torch pictures for looking at.
//
//   npx tsx --tsconfig tsconfig.json bench/src/guided-backprop-torch.ts [--model mobilenet-v2|inception-v3]
//       [--size 224] [--layer block_6_expand_relu] [--unit <c>] [--image chelsea] [--out out/guided-torch]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { channel, neuron, resize, tileGrid } from '@cnnviz/core';
import { guidedBackprop, saliency } from '@cnnviz/attribution';
import { fromLayersModel, images, zooLayersModel } from '@cnnviz/models';
import { initBackend, writePng } from '@cnnviz/node';
import { exportKerasGraph } from './keras-export.js';
import { PYTHON } from './python.js';

const here = dirname(fileURLToPath(import.meta.url));
const DEFAULTS = {
  'mobilenet-v2': {
    zoo: 'mobilenetV2Features' as const,
    cut: 'out_relu',
    size: 224,
    layer: 'block_6_expand_relu',
  },
  'inception-v3': { zoo: 'inceptionV3Features' as const, cut: 'mixed10', size: 299, layer: 'mixed4' },
} as const;

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'mobilenet-v2' },
    size: { type: 'string' },
    layer: { type: 'string' },
    unit: { type: 'string' },
    image: { type: 'string', default: 'chelsea' },
    out: { type: 'string', default: resolve(here, '../../out/guided-torch') },
    backend: { type: 'string' },
    neuron: { type: 'boolean', default: false },
  },
});
const spec = DEFAULTS[values.model as keyof typeof DEFAULTS];
if (!spec) throw new Error(`--model must be one of ${Object.keys(DEFAULTS).join(', ')}`);
const size = Number(values.size ?? spec.size);
const layer = values.layer ?? spec.layer;

const backend = await initBackend(values.backend ? { backend: values.backend } : {});
const keras = await zooLayersModel(spec.zoo, { cut: spec.cut, inputSize: size });
const model = fromLayersModel(keras, { inputRange: [0, 1], logits: 'avg' });
const raw = await images.load(values.image!);
const image = tf.tidy(() => {
  const [h, w] = raw.shape;
  const s = Math.min(h, w);
  const sq = tf.slice(raw, [Math.floor((h - s) / 2), Math.floor((w - s) / 2), 0], [s, s, 3]);
  return resize(sq as tf.Tensor3D, [size, size]);
});
raw.dispose();
// The gallery's choice: the channel most active anywhere on the image.
let unit = values.unit === undefined ? -1 : Number(values.unit);
if (unit < 0) {
  const c = tf.tidy(() => {
    const act = model.forward(model.preprocess(image), [layer]).activations[layer];
    return tf.argMax(tf.reshape(tf.max(act, [0, 1, 2]), [-1]));
  });
  unit = (await c.data())[0];
  c.dispose();
}
// --neuron: one unit at the position where the channel is strongest (Zeiler & Fergus's choice), else the channel's mean.
let objective = channel(layer, unit);
let where = '';
let pos: [number, number] | null = null;
if (values.neuron) {
  const best = tf.tidy(() => {
    const act = model.forward(model.preprocess(image), [layer]).activations[layer] as tf.Tensor4D;
    return tf.argMax(tf.reshape(tf.slice(act, [0, 0, 0, unit], [1, -1, -1, 1]), [-1]));
  });
  const i = (await best.data())[0];
  best.dispose();
  const w = model.layers.find((l) => l.name === layer)!.outputShape.at(-2) as number;
  pos = [Math.floor(i / w), i % w];
  objective = neuron(layer, unit, pos[0], pos[1]);
  where = ` at (${Math.floor(i / w)}, ${i % w})`;
}

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-guided-torch-'));
const rules = ['guided', 'deconvnet', 'plain'] as const;
const ours: Record<string, tf.Tensor3D> = {};
try {
  await exportKerasGraph(keras, dir);
  writeFileSync(join(dir, 'image.bin'), Buffer.from(((await image.data()) as Float32Array).buffer));
  const ms: Record<string, number> = {};
  for (const rule of rules) {
    const t0 = performance.now();
    const r =
      rule === 'plain'
        ? await saliency(model, image, { objective })
        : await guidedBackprop(model, image, { objective, rule });
    ms[rule] = performance.now() - t0;
    ours[rule] = r.raw.clone() as tf.Tensor3D;
    r.dispose();
    writeFileSync(
      join(dir, `cnnviz-${rule}.bin`),
      Buffer.from(((await ours[rule].data()) as Float32Array).buffer),
    );
  }
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ size, layer, unit, rules, pos }));
  const py = spawnSync(PYTHON, [join(here, 'guided-backprop-torch-ref.py'), dir], { encoding: 'utf8' });
  if (py.status !== 0) throw new Error(`${PYTHON} failed: ${py.stderr}`);
  const line = py.stdout.split('\n').find((l) => l.startsWith('TORCH_JSON '));
  const torch = JSON.parse(line!.slice('TORCH_JSON '.length)) as Record<string, { maxRelDiff: number }>;
  mkdirSync(values.out!, { recursive: true });
  const picture = (g: tf.Tensor3D) =>
    tf.tidy(() => {
      const { mean, variance } = tf.moments(g);
      return tf.clipByValue(
        tf.add(tf.mul(tf.div(tf.sub(g, mean), tf.add(tf.sqrt(variance), 1e-8)), 0.15), 0.5),
        0,
        1,
      );
    }) as tf.Tensor3D;
  const tiles: tf.Tensor3D[] = [];
  for (const rule of rules) {
    const t = tf.tensor3d(new Float32Array(readFileSync(join(dir, `torch-${rule}.bin`)).buffer.slice(0)), [
      size,
      size,
      3,
    ]);
    tiles.push(image.clone(), picture(ours[rule]), picture(t));
    t.dispose();
  }
  const sheet = tileGrid(tiles, { cols: 3, pad: 3 });
  tf.dispose(tiles);
  const file = join(values.out!, `${values.model}-${layer}-${unit}${values.neuron ? '-neuron' : ''}.png`);
  await writePng(file, sheet);
  sheet.dispose();
  console.log(
    `${values.model} ${size}px, ${values.neuron ? 'neuron' : 'channel'} ${unit} of ${layer}${where}, backend ${backend.name}, load ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  for (const rule of rules)
    console.log(
      `  ${rule.padEnd(10)} max |cnnviz - torch| / max |torch| = ${torch[rule].maxRelDiff.toExponential(2)}   cnnviz ${ms[rule].toFixed(0)} ms`,
    );
  console.log(`  rows guided / deconvnet / plain gradient; columns image | cnnviz | torch: ${file}`);
  console.log(`RESULT ${JSON.stringify({ model: values.model, size, layer, unit, torch, ms })}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
  tf.dispose(Object.values(ours));
  image.dispose();
  keras.dispose();
}
