/**
 * Trains the bundled Starry Night style network (packages/synthesis/assets/style-starry-night/).
 *
 *   npx tsx packages/synthesis/scripts/train-style.ts [--minutes 14] [--size 128] [--chunk 50] [--out DIR] [--resume]
 *     [--backend wasm|webgpu|cpu] [--asset-base DIR] [--batch 2] [--style-size 192] [--lr 0.002]
 *     [--style-weight 100] [--tv-weight 10] [--layers a,b,c] [--init DIR]
 *
 * The bundled network was trained on one NVIDIA H200 through WebGPU/Dawn (this script bundled
 * with esbuild, `--backend webgpu --asset-base packages/models/assets`), in two stages:
 *   --size 256 --batch 2 --style-size 384 --chunk 50 --minutes 3.2 --out A          (style weight 100: 450 steps)
 *   --size 256 --batch 2 --style-size 384 --chunk 50 --minutes 4.1 --style-weight 10 --init A --out C   (600 steps)
 * about 0.43 s a step there; on 2 shared CPU cores a step takes seconds, so CPU training of a
 * usable network takes hours. tfjs-layers initialises weights from Math.random: a rerun gives
 * a similar, not an identical, network.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@cnnviz/node';
import { images, setAssetBase, zoo } from '@cnnviz/models';
import { loadStyleNetwork, saveStyleNetwork, trainStyleNetwork, type StyleNetwork } from '@cnnviz/synthesis';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const minutes = Number(arg('minutes', '14'));
const size = Number(arg('size', '128'));
const out = arg('out', fileURLToPath(new URL('../assets/style-starry-night/', import.meta.url)));
const resume = process.argv.includes('--resume');
const chunk = Number(arg('chunk', '50'));

// A bundled copy of this script (e.g. for a GPU machine) must be told where the models' assets are.
if (process.argv.includes('--asset-base')) setAssetBase(pathToFileURL(`${arg('asset-base', '.')}/`));
const info = await initBackend({ backend: arg('backend', 'wasm') });
console.log(`backend ${info.name}; fixes: ${info.fixes.join(', ') || 'none'}`);
const model = await zoo.mobilenetV2Features({ inputSize: size });
const style = await images.load('starry_night');
const content = await Promise.all(
  ['chelsea', 'astronaut', 'coffee', 'brick', 'grass'].map((n) => images.load(n as 'chelsea')),
);

const layers = process.argv.includes('--layers')
  ? arg('layers', '').split(',')
  : ['block_1_expand_relu', 'block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu'];
// --init DIR continues from another network (e.g. a stage trained with other loss weights).
const initDir = process.argv.includes('--init')
  ? arg('init', '')
  : resume && existsSync(`${out}/model.json`)
    ? out
    : undefined;
let net: StyleNetwork | undefined = initDir ? await loadStyleNetwork(initDir) : undefined;
if (initDir) console.log(`continuing from ${initDir}`);
const t0 = Date.now();
let done = 0;
while ((Date.now() - t0) / 60000 < minutes) {
  const seed = done;
  net = await trainStyleNetwork(model, style, content, {
    network: net,
    steps: chunk,
    size,
    batchSize: Number(arg('batch', '2')),
    styleSize: Number(arg('style-size', String(Math.round(1.5 * size)))),
    width: 16,
    residualBlocks: 3,
    seed,
    lr: Number(arg('lr', '0.002')),
    styleWeight: Number(arg('style-weight', '100')),
    tvWeight: Number(arg('tv-weight', '10')),
    styleLayers: layers,
    onProgress: (s) => {
      if (s.step % 10 === 0 || done + s.step <= 3)
        console.log(
          `step ${done + s.step} loss ${s.loss.toFixed(4)} ${((Date.now() - t0) / 1000).toFixed(0)} s`,
        );
    },
  });
  done += chunk;
  await saveStyleNetwork(net, out);
  console.log(
    `saved after ${done} steps (${((Date.now() - t0) / 60000).toFixed(1)} min), tensors ${tf.memory().numTensors}`,
  );
}
net?.dispose();
