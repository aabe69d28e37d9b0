import * as tf from '@tensorflow/tfjs-core';
import { initBackend, writePng } from '@cnnviz/node';
import { zoo, images } from '@cnnviz/models';
import { resize, tileGrid } from '@cnnviz/core';
import { gradCam, overlay } from '@cnnviz/attribution';

await initBackend({ backend: 'wasm' });
const model = await zoo.mobilenetV2Features();
const names = ['chelsea', 'astronaut', 'coffee', 'brick', 'grass', 'scream', 'starry_night'];
const photos = await Promise.all(names.map(async (n) => { const i = await images.load(n, { channels: 3 }); const r = resize(i, [224, 224]); i.dispose(); return r; }));
const pooled = tf.tidy(() => model.forward(model.preprocess(tf.stack(photos) as tf.Tensor4D)).logits);
const spec = tf.tidy(() => { const [m, o] = tf.split(pooled, [1, 6]); return tf.sub(tf.squeeze(m, [0]), tf.max(o, 0)); });
const order = Array.from(spec.dataSync()).map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 4).map((x) => x[1]);
const strongest = Array.from(pooled.dataSync().slice(0, 1280)).map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 2).map((x) => x[1]);
console.log('specific', order, 'strongest', strongest);
const tiles = [];
for (const c of [...order, ...strongest]) {
  const r = await gradCam(model, photos[0], { target: c });
  tiles.push(overlay(photos[0], r) as tf.Tensor3D);
  r.dispose();
}
await writePng('/tmp/attr/cams.png', tileGrid(tiles, { cols: 3 }));
