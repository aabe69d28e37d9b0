// Trains a fast style network (Johnson et al. 2016) on a folder of photos, with the recipe issue 18 asks for:
// resize-then-conv upsampling, reflection padding and instance norm (buildStyleNetwork's architecture), the logit
// penalty against a saturated output sigmoid, and the low-level colour term the Gram loss cannot provide
// (colorWeight), random crops and flips. Not run in CI or tests: about 2 hours on 2 CPU cores at the defaults.
//
//   npx tsx --tsconfig tsconfig.json bench/src/train-style-network.ts --photos DIR --style starry_night \
//       [--holdout a.jpg,b.jpg] [--out out/style-starry-night] [--minutes 110] [--size 128] [--batch 2]
//       [--style-weight 10] [--color-weight 1] [--tv-weight 1] [--lr 0.002] [--chunk 50] [--backend wasm]
//       [--init DIR] [--style-size 256] [--keep] [--palette]
//
// Photos offline: `bash bench/src/style-photos.sh` builds the PyTorch recipe's sets from Debian's python3-skimage,
// opencv-doc and darknet (licences in NOTICE); with a whole directory, keep 8 out with --holdout for judging. --style takes a
// bundled image name (starry_night, scream) or a file. Saves after every chunk, so it can be stopped any time.
// --palette: the colour term pulls towards each crop recoloured to the painting's palette (colorTarget 'palette').
// The bundled networks were trained by train-style-network-torch.py instead: the same network and loss in PyTorch,
// which trains them about 20x faster per crop pixel on the same 2 cores.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { images, zoo } from '@cnnviz/models';
import { initBackend, readImage } from '@cnnviz/node';
import { loadStyleNetwork, saveStyleNetwork, trainStyleNetwork, type StyleNetwork } from '@cnnviz/synthesis';

const { values } = parseArgs({
  options: {
    photos: { type: 'string' },
    style: { type: 'string', default: 'starry_night' },
    holdout: { type: 'string', default: '' },
    out: { type: 'string' },
    minutes: { type: 'string', default: '110' },
    size: { type: 'string', default: '128' },
    batch: { type: 'string', default: '2' },
    'style-weight': { type: 'string', default: '10' },
    'color-weight': { type: 'string', default: '1' },
    palette: { type: 'boolean', default: false },
    'tv-weight': { type: 'string', default: '1' },
    lr: { type: 'string', default: '0.002' },
    chunk: { type: 'string', default: '50' },
    backend: { type: 'string', default: 'wasm' },
    init: { type: 'string' },
    'style-size': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
if (!values.photos) throw new Error('--photos DIR is required (a folder of .jpg / .png photographs)');
const size = Number(values.size);
const out = values.out ?? `out/style-${values.style!.replace(/[^A-Za-z0-9_-]+/g, '_')}`;
const holdout = new Set(values.holdout!.split(',').filter(Boolean));

const backend = await initBackend({ backend: values.backend });
const files = readdirSync(values.photos, { recursive: true, encoding: 'utf8' })
  .filter((f) => /\.(jpe?g|png)$/i.test(f) && !holdout.has(f.split('/').pop()!))
  .sort();
const photos: tf.Tensor3D[] = [];
for (const f of files) {
  const img = await readImage(join(values.photos, f), { channels: 3 });
  // Crops are at least half the short side: skip pictures too small to give a crop of `size`.
  if (Math.min(img.shape[0], img.shape[1]) >= size) photos.push(img);
  else img.dispose();
}
if (photos.length === 0) throw new Error(`no photos of at least ${size} px in ${values.photos}`);
const style = values.style!.includes('.')
  ? await readImage(values.style!, { channels: 3 })
  : await images.load(values.style as 'starry_night');
const model = await zoo.mobilenetV2Features({ inputSize: size });
console.log(
  `${backend.name}; ${photos.length} photos (${holdout.size} held out); style ${values.style}; out ${out}`,
);

const t0 = Date.now();
// --init warm-starts from a saved network of the same architecture (the old bundled one, or another style's).
// --style-size is the painting's longest side for the Gram targets (trainStyleNetwork's default 1.5 x --size); the
// held-out judging (style-network-eval.ts) and transferStyle use the output's side, 256 there.
// --keep also saves every chunk's network to OUT-stepN (checkpoints to judge on the held-out photos).
let net: StyleNetwork | undefined = values.init ? await loadStyleNetwork(values.init) : undefined;
let done = 0;
while ((Date.now() - t0) / 60000 < Number(values.minutes)) {
  net = await trainStyleNetwork(model, style, photos, {
    network: net,
    steps: Number(values.chunk),
    size,
    styleSize: values['style-size'] ? Number(values['style-size']) : undefined,
    batchSize: Number(values.batch),
    seed: done,
    lr: Number(values.lr),
    styleWeight: Number(values['style-weight']),
    tvWeight: Number(values['tv-weight']),
    colorWeight: Number(values['color-weight']),
    colorTarget: values.palette ? 'palette' : 'photo',
    onProgress: (s) => {
      if (s.step % 10 === 0)
        console.log(
          `step ${done + s.step} loss ${s.loss.toFixed(4)} ${((Date.now() - t0) / 1000).toFixed(0)} s`,
        );
    },
  });
  done += Number(values.chunk);
  await saveStyleNetwork(net, out);
  if (values.keep) await saveStyleNetwork(net, `${out}-step${done}`);
  console.log(`saved ${out} after ${done} steps (${((Date.now() - t0) / 60000).toFixed(1)} min)`);
}
net?.dispose();
tf.dispose([...photos, style]);
