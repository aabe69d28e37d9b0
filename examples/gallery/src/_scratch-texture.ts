import * as tf from '@tensorflow/tfjs-core';
import { initBackend, writePng } from '@cnnviz/node';
import { zoo, images } from '@cnnviz/models';
import { run, resize, tileGrid } from '@cnnviz/core';
import { synthesizeTexture } from '@cnnviz/synthesis';
await initBackend({ backend: 'wasm' });
const size = Number(process.argv[2] ?? 96);
const m = await zoo.mobilenetV2Features({ inputSize: size });
const raw = await images.load('starry_night');
const tex = tf.tidy(() => resize(tf.slice(raw, [0, 0, 0], [204, 204, 3]), [size, size]));
const variants: Record<string, object> = {
  adam01: { steps: 100, lr: 0.1, layers: m.entry.layersOfInterest.style },
  deep_lbfgs: { steps: 40, optimizer: 'lbfgs', layers: ['block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu'] },
};
const tiles = [tex];
for (const [name, opts] of Object.entries(variants)) {
  const c0 = process.cpuUsage();
  const last = await run(synthesizeTexture(m, tex, { size, seed: 1, ...opts } as any));
  const c = process.cpuUsage(c0);
  console.log(name, 'loss', last.loss.toFixed(3), 'cpu s', ((c.user + c.system) / 1e6).toFixed(1));
  tiles.push(last.image!);
}
await writePng('/tmp/cvx/tex.png', tileGrid(tiles, { cols: tiles.length }));
