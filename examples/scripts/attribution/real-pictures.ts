/**
 * Every attribution technique on real pictures, written as PNGs to out/attribution/:
 * MobileNetV2 (ImageNet backbone, no classifier head: the target is the strongest channel of the
 * global-pooled out_relu features) on bundled photos, and the Fashion-MNIST CNN (class target) on
 * bundled Fashion-MNIST items. Run: npx tsx examples/scripts/attribution/real-pictures.ts [--fast] [mobilenet|fashion]
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdir } from 'node:fs/promises';
import { resize, tileGrid, type VisionModel } from '@cnnviz/core';
import { images, zoo } from '@cnnviz/models';
import { initBackend, writePng } from '@cnnviz/node';
import {
  filterGrid,
  gradCam,
  gradCamPlusPlus,
  guidedBackprop,
  guidedGradCam,
  integratedGradients,
  occlusion,
  overlay,
  randomizationCheck,
  saliency,
  smoothGrad,
  toHeatmap,
  topPatches,
  visualizeFilters,
  type Attribution,
} from '@cnnviz/attribution';

const OUT = 'out/attribution';
const fast = process.argv.includes('--fast');
const only = process.argv.find((a) => a === 'mobilenet' || a === 'fashion');

/** A photo resized (stretched, as Keras' `load_img(target_size)` does) to `[size,size,3]`, keeping all its background. */
async function square(name: string, size: number): Promise<tf.Tensor3D> {
  const img = await images.load(name, { channels: 3 });
  const out = resize(img, [size, size]);
  img.dispose();
  return out;
}

/** The first value of a tensor, which is then disposed. */
function scalarOf(t: tf.Tensor): number {
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

/** Nearest-neighbour enlargement so 28-pixel pictures are visible. */
function enlarge(img: tf.Tensor3D, factor: number): tf.Tensor3D {
  if (factor === 1) return img.clone();
  return tf.tidy(() => tf.image.resizeNearestNeighbor(img, [img.shape[0] * factor, img.shape[1] * factor]));
}

/** Guided-backprop style picture of a signed gradient [H,W,C]: centred on grey, scaled by its spread. */
function gradientImage(raw: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const x = tf.sub(raw, tf.mean(raw));
    const spread = tf.add(tf.sqrt(tf.mean(tf.square(x))), 1e-12);
    const rgb = raw.shape[2] === 1 ? tf.tile(x, [1, 1, 3]) : x;
    return tf.clipByValue(tf.add(tf.mul(tf.div(rgb, spread), 0.15), 0.5), 0, 1) as tf.Tensor3D;
  });
}

/** image | heatmap | overlay (| extra), side by side. */
async function panel(
  file: string,
  image: tf.Tensor3D,
  r: Attribution,
  factor: number,
  extra?: tf.Tensor3D,
  clipPercentile = 0,
): Promise<void> {
  const tiles = tf.tidy(() => {
    const [h, w] = image.shape;
    const rgb = image.shape[2] === 1 ? tf.tile(image, [1, 1, 3]) : image;
    const map =
      r.map.shape[0] === h ? r.map : tf.squeeze(resize(tf.expandDims(r.map, -1) as tf.Tensor3D, [h, w]), [2]);
    const list = [
      rgb,
      toHeatmap({ map, signed: r.signed }, { clipPercentile }) as tf.Tensor3D,
      overlay(image, r, { alpha: 0.5, clipPercentile }) as tf.Tensor3D,
    ];
    if (extra) list.push(extra);
    return list.map((t) => enlarge(t as tf.Tensor3D, factor));
  });
  const grid = tileGrid(tiles, { cols: tiles.length, pad: 4 });
  await writePng(`${OUT}/${file}`, grid);
  tf.dispose([...tiles, grid]);
  console.log(`  wrote ${OUT}/${file}`);
}

async function timed<T>(label: string, f: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const r = await f();
  console.log(`  ${label}: ${((performance.now() - t) / 1000).toFixed(2)} s`);
  return r;
}

async function techniques(
  prefix: string,
  model: VisionModel,
  image: tf.Tensor3D,
  target: number,
  factor: number,
  occ: { window: number; stride: number },
) {
  const s = await timed('saliency', () => saliency(model, image, { target }));
  await panel(`${prefix}-saliency.png`, image, s, factor, undefined, 1);
  s.dispose();

  const sg = await timed('smoothGrad', () =>
    smoothGrad(model, image, { target, samples: fast ? 10 : 25, noise: 0.15 }),
  );
  await panel(`${prefix}-smoothgrad.png`, image, sg, factor, undefined, 1);
  sg.dispose();

  const ig = await timed('integratedGradients', () =>
    integratedGradients(model, image, { target, steps: fast ? 16 : 64 }),
  );
  console.log(`    completeness error ${(ig.completenessError * 100).toFixed(2)} %`);
  await panel(`${prefix}-integrated-gradients.png`, image, ig, factor, undefined, 1);
  ig.dispose();

  const cam = await timed('gradCam', () => gradCam(model, image, { target }));
  console.log(`    layer ${cam.layer}, map ${cam.map.shape.join('x')}`);
  await panel(`${prefix}-gradcam.png`, image, cam, factor);
  const camValues = await cam.map.data();
  cam.dispose();

  const campp = await timed('gradCamPlusPlus', () => gradCamPlusPlus(model, image, { target }));
  await panel(`${prefix}-gradcam-plus-plus.png`, image, campp, factor);
  campp.dispose();

  const gb = await timed('guidedBackprop', () => guidedBackprop(model, image, { target }));
  const gbImage = gradientImage(gb.raw as tf.Tensor3D);
  await panel(`${prefix}-guided-backprop.png`, image, gb, factor, gbImage, 1);
  tf.dispose(gbImage);
  gb.dispose();

  const ggc = await timed('guidedGradCam', () => guidedGradCam(model, image, { target }));
  const ggcImage = gradientImage(ggc.raw as tf.Tensor3D);
  await panel(`${prefix}-guided-gradcam.png`, image, ggc, factor, ggcImage, 1);
  tf.dispose(ggcImage);
  ggc.dispose();

  const oc = await timed(`occlusion ${occ.window}/${occ.stride}`, () =>
    occlusion(model, image, { target, ...occ }),
  );
  await panel(`${prefix}-occlusion.png`, image, oc, factor);
  oc.dispose();
  return camValues;
}

async function main(): Promise<void> {
  const info = await initBackend();
  console.log(`backend ${info.name} (${info.reason}); fixes: ${info.fixes.length}`);
  await mkdir(OUT, { recursive: true });

  // MobileNetV2 on the cat. Without a classifier head the target is a feature channel: the pooled
  // out_relu channel most specific to the cat photo (its value minus the largest value it reaches
  // on the other photos), so the map shows what makes this picture a cat to the network.
  if (only !== 'fashion') await mobilenetPictures();
  if (only !== 'mobilenet') await fashionPictures();
  console.log(`tensors left: ${tf.memory().numTensors}`);
}

async function mobilenetPictures(): Promise<void> {
  const mobilenet = await zoo.mobilenetV2Features();
  const names = ['chelsea', 'astronaut', 'coffee', 'brick', 'grass', 'scream', 'starry_night'];
  const photos = await Promise.all(names.map((n) => square(n, 224)));
  const cat = photos[0];
  const pooled = tf.tidy(
    () => mobilenet.forward(mobilenet.preprocess(tf.stack(photos) as tf.Tensor4D)).logits,
  );
  const top = scalarOf(
    tf.tidy(() => {
      const [mine, others] = tf.split(pooled, [1, names.length - 1]);
      return tf.argMax(tf.sub(tf.squeeze(mine, [0]), tf.max(others, 0)));
    }),
  );
  const strongest = scalarOf(tf.tidy(() => tf.argMax(tf.slice(pooled, [0, 0], [1, -1]), 1)));
  pooled.dispose();
  console.log(
    `mobilenetV2Features on chelsea: target = pooled out_relu channel ${top} (most cat-specific; the strongest is ${strongest})`,
  );
  const cam = await techniques(
    'mobilenet-chelsea',
    mobilenet,
    cat,
    top,
    1,
    fast ? { window: 32, stride: 16 } : { window: 16, stride: 8 },
  );
  const peak = Math.max(...cam);
  const grid = Array.from({ length: 7 }, (_, y) =>
    Array.from(cam.slice(y * 7, y * 7 + 7), (v) => (v / peak).toFixed(2).padStart(5)).join(' '),
  );
  console.log(`  Grad-CAM 7x7 / max (rows top to bottom):\n${grid.join('\n')}`);

  // First-layer filters, and the patches that excite one channel most across the bundled photos.
  const tiles = visualizeFilters(mobilenet, 'Conv1');
  const filters = filterGrid(tiles, { cols: 8, scale: 12, pad: 2 });
  await writePng(`${OUT}/mobilenet-conv1-filters.png`, filters);
  tf.dispose([tiles, filters]);
  const layer = 'block_6_expand_relu';
  const patches = await topPatches(mobilenet, photos, { layer, channel: 7, k: 8 });
  console.log(
    `  topPatches ${layer}:7 → ${patches.map((p) => `img${p.imageIndex}@(${p.y},${p.x}) ${p.value.toFixed(2)} box ${JSON.stringify(p.box)}`).join('; ')}`,
  );
  const patchTiles = patches.map((p) => tf.tidy(() => resize(p.patch, [64, 64])));
  const patchGrid = tileGrid(patchTiles, { cols: 8, pad: 2 });
  await writePng(`${OUT}/mobilenet-top-patches-${layer}-7.png`, patchGrid);
  tf.dispose([...patchTiles, patchGrid, ...patches.map((p) => p.patch), ...photos]);
  mobilenet.dispose?.();
}

async function fashionPictures(): Promise<void> {
  // The Fashion-MNIST CNN on bundled items, each on its predicted class.
  const fashion = await zoo.fashionCnn();
  // Each item explained for its true class (Fashion-MNIST label index).
  const items: [string, number][] = [
    ['fashion-ankle-boot', 9],
    ['fashion-trouser', 1],
    ['fashion-bag', 8],
    ['fashion-sneaker', 7],
  ];
  for (const [item, k] of items) {
    const img = await images.load(item);
    const logits = tf.tidy(() => fashion.forward(fashion.preprocess(img)).logits);
    const predicted = scalarOf(tf.argMax(logits, 1));
    logits.dispose();
    console.log(
      `fashionCnn on ${item}: target ${k} (${fashion.labels?.[k]}), predicted ${predicted} (${fashion.labels?.[predicted]})`,
    );
    await techniques(`fashion-${item.slice(8)}`, fashion, img, k, 8, { window: 4, stride: 2 });
    if (item === 'fashion-ankle-boot') {
      for (const technique of ['saliency', 'gradCam', 'guidedBackprop', 'integratedGradients'] as const) {
        const steps = await randomizationCheck(fashion, img, technique, {
          target: k,
          techniqueOptions: { steps: 16 },
        });
        console.log(
          `  randomizationCheck ${technique}: ${steps.map((s) => `${s.layer} ${s.spearman.toFixed(2)}`).join(', ')}`,
        );
      }
    }
    img.dispose();
  }
  fashion.dispose?.();
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
