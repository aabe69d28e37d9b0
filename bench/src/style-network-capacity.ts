// Capacity probe for the fast style networks (issue 18): trains a style network on ONE photo (centre square at
// --size) with transferStyle's objective (style weight 100, TV 10, painting at the output's side, no colour term)
// and prints, every 25 steps, its style and content loss on that very photo beside transferStyle's at 100 steps.
// With generalisation out of the way, the distance left is what the architecture and the step budget allow.
//
//   npx tsx --tsconfig tsconfig.json bench/src/style-network-capacity.ts --photo eagle.jpg \
//       [--init packages/synthesis/assets/style-starry-night] [--style starry_night] [--steps 300] [--size 128]
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { resize, run } from '@cnnviz/core';
import { images, zoo } from '@cnnviz/models';
import { initBackend, readImage } from '@cnnviz/node';
import {
  applyStyleNetwork,
  contentLoss,
  gramTargets,
  loadStyleNetwork,
  styleLoss,
  trainStyleNetwork,
  transferStyle,
  type StyleNetwork,
} from '@cnnviz/synthesis';

const { values } = parseArgs({
  options: {
    photo: { type: 'string' },
    init: { type: 'string' },
    style: { type: 'string', default: 'starry_night' },
    steps: { type: 'string', default: '300' },
    size: { type: 'string', default: '128' },
    backend: { type: 'string', default: 'wasm' },
  },
});
if (!values.photo) throw new Error('--photo FILE is required');
const size = Number(values.size);
await initBackend({ backend: values.backend });
const model = await zoo.mobilenetV2Features({ inputSize: size });
type Layers = { layersOfInterest?: { content: string; style: string[] } };
const withLayers = model as unknown as Layers & { entry?: Layers };
const { content: contentLayer, style: styleLayers } = (withLayers.layersOfInterest ??
  withLayers.entry?.layersOfInterest)!;
const raw = await readImage(values.photo, { channels: 3 });
const photo = tf.tidy(() => {
  const [h, w] = raw.shape;
  const s = Math.min(h, w);
  const crop = tf.slice(raw, [Math.floor((h - s) / 2), Math.floor((w - s) / 2), 0], [s, s, 3]);
  return resize(crop as tf.Tensor3D, [size, size]);
});
const style = await images.load(values.style as 'starry_night');
const targets = tf.tidy(() => {
  const [h, w] = style.shape;
  const k = size / Math.max(h, w);
  return gramTargets(model, resize(style, [Math.round(h * k), Math.round(w * k)]), styleLayers);
});

/** Style and content loss of `img` against the painting and the photo (style-network-eval.ts's measures). */
function losses(img: tf.Tensor3D): string {
  const [s, c] = tf.tidy(() => {
    const acts = model.forward(
      model.preprocess(tf.stack([img, photo]) as tf.Tensor4D),
      [contentLayer, ...styleLayers],
      {
        logits: false,
      },
    ).activations;
    const first = (t: tf.Tensor) => tf.slice(t, 0, 1);
    const weights = styleLayers.map(() => 1 / styleLayers.length);
    return [
      styleLoss(
        styleLayers.map((l) => first(acts[l])),
        targets,
        weights,
      ).dataSync()[0],
      contentLoss(first(acts[contentLayer]), tf.slice(acts[contentLayer], 1, 1)).dataSync()[0],
    ];
  });
  return `style ${s.toFixed(4)} content ${c.toFixed(3)}`;
}

let t0 = Date.now();
const opt = (await run(transferStyle(model, photo, [{ image: style, weight: 1 }], { steps: 100 }))).image!;
console.log(`transferStyle 100 steps: ${losses(opt)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
console.log(`photo itself: ${losses(photo)}`);
let net: StyleNetwork | undefined = values.init ? await loadStyleNetwork(values.init) : undefined;
const report = (step: number) => {
  const y = applyStyleNetwork(net!, photo);
  console.log(`network step ${step}: ${losses(y)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  y.dispose();
};
if (net) report(0);
t0 = Date.now();
for (let done = 0; done < Number(values.steps);) {
  net = await trainStyleNetwork(model, style, [photo], {
    network: net,
    steps: 25,
    size,
    styleSize: size,
    batchSize: 1,
    seed: done,
    lr: 0.002,
    styleWeight: 100,
    tvWeight: 10,
  });
  done += 25;
  report(done);
}
net?.dispose();
tf.dispose([raw, photo, style, opt, ...targets]);
