// Turns a network trained by bench/src/train-style-network-torch.py into a cnnviz style network: builds
// `buildStyleNetwork` with the same width and residual blocks, sets every layer's weights by name (they were written
// in TF.js's layouts), checks that TF.js's output on the trainer's probe image equals PyTorch's, and saves it with
// `saveStyleNetwork` (float32; style-network-quantize.ts then halves or quarters it for shipping).
//
//   npx tsx --tsconfig tsconfig.json bench/src/style-network-from-torch.ts TORCH_DIR OUT_DIR [--prep /tmp/style-torch]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@cnnviz/node';
import { applyStyleNetwork, asStyleNetwork, buildStyleNetwork, saveStyleNetwork } from '@cnnviz/synthesis';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { prep: { type: 'string', default: '/tmp/style-torch' } },
});
const [inDir, outDir] = positionals;
if (!inDir || !outDir) throw new Error('usage: style-network-from-torch.ts TORCH_DIR OUT_DIR [--prep DIR]');

interface Exported {
  width: number;
  residualBlocks: number;
  probe: [number, number, number];
  layers: { name: string; weights: { shape: number[]; offset: number }[] }[];
}
await initBackend({ backend: 'wasm' });
const meta = JSON.parse(readFileSync(join(inDir, 'graph.json'), 'utf8')) as Exported;
const floats = (file: string) => {
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
};
const blob = floats(join(inDir, 'weights.bin'));
const net = buildStyleNetwork({ width: meta.width, residualBlocks: meta.residualBlocks });
const byName = new Map(meta.layers.map((l) => [l.name, l.weights]));
let set = 0;
for (const layer of net.layers) {
  const own = layer.getWeights();
  if (own.length === 0) continue;
  const ws = byName.get(layer.name);
  if (!ws || ws.length !== own.length) throw new Error(`${layer.name}: no matching weights in ${inDir}`);
  const values = ws.map((w, i) => {
    if (w.shape.join() !== own[i].shape.join())
      throw new Error(`${layer.name}: shape ${w.shape} against the network's ${own[i].shape}`);
    const n = w.shape.reduce((a, b) => a * b, 1);
    return tf.tensor(blob.slice(w.offset, w.offset + n), w.shape);
  });
  layer.setWeights(values);
  tf.dispose(values);
  set++;
}
if (set !== meta.layers.length) throw new Error(`set ${set} of ${meta.layers.length} exported layers`);

// The trainer's probe is prep's first parity image (two test images [2,128,128,3]).
const parity = floats(join(values.prep!, 'parity.bin'));
const [h, w] = meta.probe;
const probe = tf.tensor3d(parity.slice(0, h * w * 3), [h, w, 3]);
const torchOut = tf.tensor3d(floats(join(inDir, 'probe.bin')), [h, w, 3]);
const ours = applyStyleNetwork(asStyleNetwork(net), probe);
const diff = tf.max(tf.abs(tf.sub(ours, torchOut)));
const d = (await diff.data())[0];
tf.dispose([probe, torchOut, ours, diff]);
console.log(
  `${set} layers set; largest output difference to PyTorch on the probe image ${d.toExponential(2)}`,
);
if (!(d < 1e-3)) throw new Error('TF.js and PyTorch disagree: not the same network');
await saveStyleNetwork(asStyleNetwork(net), outDir);
console.log(`saved ${outDir}`);
