import * as tf from '@tensorflow/tfjs-core';
import { initBackend, writePng } from '@cnnviz/node';
import { zoo, images } from '@cnnviz/models';
import { run, resize, tileGrid } from '@cnnviz/core';
import { transferStyle } from '@cnnviz/synthesis';
await initBackend({ backend: 'wasm' });
const size = 128;
const m = await zoo.mobilenetV2Features({ inputSize: size });
const sq = async (n: string) => { const r = await images.load(n); const s = Math.min(r.shape[0], r.shape[1]); return tf.tidy(() => resize(tf.slice(r, [0, 0, 0], [s, s, 3]), [size, size])); };
const cat = await sq('chelsea');
const starry = await sq('starry_night');
const e = m.entry.layersOfInterest;
const variants: Record<string, object> = {
  noise100: { styleWeight: 100, steps: 80, lr: 0.03, init: 'noise' },
  noise10: { styleWeight: 10, steps: 80, lr: 0.03, init: 'noise' },
  content_lr10: { styleWeight: 100, steps: 60, lr: 0.1 },
};
const tiles = [cat, starry];
for (const [name, opts] of Object.entries(variants)) {
  const c0 = process.cpuUsage();
  const last = await run(transferStyle(m, cat, [{ image: starry, weight: 1 }], { contentLayer: e.content, styleLayers: e.style, size, seed: 1, ...opts } as any));
  const c = process.cpuUsage(c0);
  console.log(name, 'loss', last.loss.toFixed(3), 'cpu s', ((c.user + c.system) / 1e6).toFixed(1));
  tiles.push(last.image!);
}
await writePng('/tmp/cvx/style.png', tileGrid(tiles, { cols: tiles.length }));
