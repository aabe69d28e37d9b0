/**
 * Trained the first bundled Starry Night style network (November 2026, on a GPU). The networks bundled now
 * (starry-night, scream) were warm-started from it and retrained on photographs by
 * bench/src/train-style-network.ts: see the synthesis README for the recipe and the figures.
 *
 *   npx tsx examples/scripts/synthesis/train-style.ts [--minutes 14] [--size 128] [--chunk 50] [--out DIR] [--resume]
 *     [--backend wasm|webgpu|cpu] [--asset-base DIR] [--batch 2] [--style-size 192] [--lr 0.002]
 *     [--style-weight 100] [--tv-weight 10] [--layers a,b,c] [--init DIR]
 *     [--logit-penalty 1] [--logit-limit 4]
 *
 * --layers defaults to the zoo's MobileNetV2 style layers (Conv1_relu, expanded_conv_depthwise_relu,
 * block_{1,3,6,13}_depthwise_relu); the content layer is the zoo's (block_6_expand_relu).
 * --logit-penalty / --logit-limit: trainStyleNetwork's penalty on pre-sigmoid outputs beyond
 * ±limit (defaults 1 and 4; 0 turns it off). After each chunk the script logs, on the first
 * training photograph, the largest |logit| and the share of logits beyond the limit.
 *
 * The bundled network was trained on one NVIDIA H200 through WebGPU/Dawn (this script bundled
 * with esbuild, `--backend webgpu --asset-base packages/models/assets`), in two stages, with the
 * style layers then hard-coded here, block_{1,3,6,13}_expand_relu, and no logit penalty:
 *   --size 256 --batch 2 --style-size 384 --chunk 50 --minutes 3.2 --out A          (style weight 100: 450 steps)
 *   --size 256 --batch 2 --style-size 384 --chunk 50 --minutes 4.1 --style-weight 10 --init A --out C   (600 steps)
 * about 0.43 s a step there. Its output logits reached −38 in red (sigmoid gradient 3e-17): the
 * dark green blotches on red and orange. To fine-tune it from its current weights with the
 * penalty, keep the loss it was trained with (those layers, style weight 10) and lower the lr
 * (Adam moves every weight by up to lr a step, and the 9x9 output convolution sums 1296 of them):
 *   npx tsx examples/scripts/synthesis/train-style.ts --init packages/synthesis/assets/style-starry-night \
 *     --out /tmp/starry-ft --size 256 --style-size 384 --batch 2 --style-weight 10 --lr 0.001 \
 *     --logit-penalty 1 --logit-limit 4 --chunk 25 --minutes 60 \
 *     --layers block_1_expand_relu,block_3_expand_relu,block_6_expand_relu,block_13_expand_relu
 * and copy /tmp/starry-ft/{model.json,weights.bin} over the asset once the blotches are gone. At
 * --size 128 (same command, --style-size 192) 10 steps took the largest |logit| on chelsea from
 * 37.9 to 6.9 and 40 to 6.4, so the loss's gradient reaches those pixels again; the nose stayed
 * a milder green, as the loss itself barely sees colour. With the threaded WASM backend on 2
 * shared cores a step of batch 2 takes about 3.4 s at --size 128 and 20 s at 256.
 * tfjs-layers initialises weights from Math.random: a rerun gives a similar, not an identical,
 * network.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
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
const out = arg(
  'out',
  fileURLToPath(new URL('../../../packages/synthesis/assets/style-starry-night/', import.meta.url)),
);
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

// Undefined: trainStyleNetwork takes the zoo's style layers.
const layers = process.argv.includes('--layers') ? arg('layers', '').split(',') : undefined;
const optional = (name: string) => (process.argv.includes(`--${name}`) ? Number(arg(name, '')) : undefined);
const logitPenalty = optional('logit-penalty');
const logitLimit = optional('logit-limit');

/** Largest |logit| and share of logits beyond the limit on one photograph: is the output sigmoid saturated? */
function saturation(n: StyleNetwork, img: tf.Tensor3D): string {
  const rgb = n.model.layers.find((l) => l.name === 'rgb');
  if (!rgb) return 'no rgb layer';
  const logits = tfl.model({ inputs: n.model.inputs, outputs: rgb.input as tfl.SymbolicTensor });
  const limit = logitLimit ?? 4;
  const [max, beyond] = tf.tidy(() => {
    const [h, w] = img.shape;
    const x = tf.slice(tf.expandDims(img, 0), [0, 0, 0, 0], [1, h - (h % 4), w - (w % 4), 3]);
    const z = tf.abs(logits.predict(x) as tf.Tensor);
    return [tf.max(z).dataSync()[0], tf.mean(tf.cast(tf.greater(z, limit), 'float32')).dataSync()[0]];
  });
  // The logit model shares the network's layers; disposing it would dispose their weights.
  return `max |logit| ${max.toFixed(1)}, ${(100 * beyond).toFixed(2)} % beyond ±${limit}`;
}
// --init DIR continues from another network (e.g. a stage trained with other loss weights).
const initDir = process.argv.includes('--init')
  ? arg('init', '')
  : resume && existsSync(`${out}/model.json`)
    ? out
    : undefined;
let net: StyleNetwork | undefined = initDir ? await loadStyleNetwork(initDir) : undefined;
if (initDir) console.log(`continuing from ${initDir}; ${saturation(net as StyleNetwork, content[0])}`);
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
    logitPenalty,
    logitLimit,
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
    `saved after ${done} steps (${((Date.now() - t0) / 60000).toFixed(1)} min), tensors ${tf.memory().numTensors}; ` +
      saturation(net, content[0]),
  );
}
net?.dispose();
