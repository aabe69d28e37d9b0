/**
 * Real pictures from every synthesis technique, on the bundled images and zoo models, written to
 * out/synthesis/*.png for a person to look at.
 *
 *   npx tsx examples/scripts/synthesis/real-pictures.ts [section ...]
 *
 * Sections: dream texture style fast class unit invert adversarial (default: all). WASM backend
 * with cnnviz's kernel fixes (CNNVIZ_BACKEND overrides).
 */
import * as tf from '@tensorflow/tfjs-core';
import { classLogit, channel, resize, run, tileGrid } from '@cnnviz/core';
import { datasets, images, zoo } from '@cnnviz/models';
import { initBackend, writePng } from '@cnnviz/node';
import {
  adversarial,
  applyStyleNetwork,
  deepDream,
  invertFeatures,
  loadBundledStyleNetwork,
  synthesizeTexture,
  transferStyle,
  visualizeClass,
  visualizeUnit,
  type VisualizeClassOptions,
} from '@cnnviz/synthesis';

const OUT = 'out/synthesis';
const wanted = process.argv.slice(2);
const want = (s: string) => wanted.length === 0 || wanted.includes(s);
const t0 = Date.now();
const log = (msg: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)} s] ${msg}`);

/** Resizes so the longest side is `side`. */
function fit(img: tf.Tensor3D, side: number): tf.Tensor3D {
  const [h, w] = img.shape;
  const k = side / Math.max(h, w);
  return resize(img, [Math.round(h * k), Math.round(w * k)]);
}

async function save(name: string, img: tf.Tensor3D) {
  await writePng(`${OUT}/${name}.png`, img);
  log(`wrote ${OUT}/${name}.png ${img.shape.join('x')}`);
}

await (await import('node:fs/promises')).mkdir(OUT, { recursive: true });
const info = await initBackend({ backend: process.env.CNNVIZ_BACKEND ?? 'wasm' });
log(`backend ${info.name}`);

if (want('dream')) {
  const model = await zoo.mobilenetV2Features({ inputSize: 320 });
  const cat = await images.load('chelsea');
  const img = fit(cat, 320);
  for (const layer of ['block_6_expand_relu', 'block_13_expand_relu']) {
    const r = await run(
      deepDream(model, img, { layer, octaves: 3, octaveScale: 1.4, steps: 10, stepSize: 0.015, seed: 1 }),
    );
    const dream = r.image as tf.Tensor3D;
    await save(`dream-chelsea-${layer}`, tileGrid([img, dream], { cols: 2, pad: 4 }));
    dream.dispose();
  }
  tf.dispose([cat, img]);
  model.dispose?.();
}

if (want('texture')) {
  const model = await zoo.mobilenetV2Features({ inputSize: 192 });
  for (const name of ['brick', 'grass']) {
    const src = await images.load(name);
    const tex = resize(src, [192, 192]);
    // Output wider than the source: Gram matrices average over positions, so any size works.
    const r = await run(
      synthesizeTexture(model, tex, {
        size: [192, 320],
        steps: 200,
        seed: 2,
        onProgress: (s) => s.step % 50 === 0 && log(`${name} step ${s.step} loss ${s.loss.toFixed(4)}`),
      }),
    );
    const out = r.image as tf.Tensor3D;
    const srcPadded = tf.pad(
      tex,
      [
        [0, 0],
        [0, 128],
        [0, 0],
      ],
      1,
    ) as tf.Tensor3D;
    await save(`texture-${name}`, tileGrid([srcPadded, out], { cols: 1, pad: 4 }));
    tf.dispose([src, tex, out, srcPadded]);
  }
  model.dispose?.();
}

if (want('style')) {
  const model = await zoo.mobilenetV2Features({ inputSize: 224 });
  const astronaut = fit(await images.load('astronaut'), 224);
  const starry = await images.load('starry_night');
  const scream = await images.load('scream');
  const cases: [string, { image: tf.Tensor3D; weight: number }[]][] = [
    ['starry', [{ image: starry, weight: 1 }]],
    ['scream', [{ image: scream, weight: 1 }]],
    [
      'blend',
      [
        { image: starry, weight: 0.5 },
        { image: scream, weight: 0.5 },
      ],
    ],
  ];
  const outs: tf.Tensor3D[] = [];
  for (const [name, styles] of cases) {
    const r = await run(
      transferStyle(model, astronaut, styles, {
        steps: 150,
        onProgress: (s) => s.step % 50 === 0 && log(`style ${name} step ${s.step} loss ${s.loss.toFixed(4)}`),
      }),
    );
    outs.push(r.image as tf.Tensor3D);
    await save(`style-astronaut-${name}`, r.image as tf.Tensor3D);
  }
  const thumbs = [starry, scream].map((s) => resize(s, [224, 224]));
  await save(
    'style-astronaut-overview',
    tileGrid([astronaut, thumbs[0], thumbs[1], ...outs], { cols: 3, pad: 4 }),
  );
  tf.dispose([astronaut, starry, scream, ...outs, ...thumbs]);
  model.dispose?.();
}

if (want('fast')) {
  const net = await loadBundledStyleNetwork('starry_night');
  const outs: tf.Tensor3D[] = [];
  for (const name of ['astronaut', 'chelsea', 'coffee']) {
    const img = fit(await images.load(name), 256);
    const sq = resize(img, [256, 256]);
    const t = Date.now();
    const y = applyStyleNetwork(net, sq);
    await y.data();
    log(`fast style ${name} ${Date.now() - t} ms`);
    outs.push(sq, y);
    img.dispose();
  }
  await save('fast-style-starry', tileGrid(outs, { cols: 2, pad: 4 }));
  tf.dispose(outs);
  net.dispose();
}

if (want('class')) {
  const model = await zoo.fashionCnn();
  const data = await datasets.fashionMnistTest1k();
  // Starting from (and decaying towards) the data set's mean garment gives class-specific
  // deformations of it; from mid-grey the ascent paints the strokes the filters like.
  const mean = tf.tidy(() => tf.mean(data.images, 0)) as tf.Tensor3D;
  const settings: [string, Partial<VisualizeClassOptions>][] = [
    ['pixel, grey start (lecture defaults)', {}],
    [
      'pixel, mean-image start, l2 0.01, blur 0.7 every 4',
      { init: mean, l2: 0.01, blurEvery: 4, blurSigma: 0.7, jitter: 1 },
    ],
    ['fourier + standard transforms', { param: 'fourier' }],
  ];
  const pics: tf.Tensor3D[] = [];
  for (const [name, opts] of settings) {
    for (let k = 0; k < 10; k++) {
      const r = await run(visualizeClass(model, { target: k, steps: 200, seed: k, ...opts }));
      const img = r.image as tf.Tensor3D;
      pics.push(resize(img, [84, 84]));
      img.dispose();
    }
    log(`class row: ${name}`);
  }
  await save('class-fashion', tileGrid(pics, { cols: 10, pad: 4 }));
  tf.dispose([...pics, mean]);
  data.dispose();
  log(`columns: ${model.labels?.join(', ')}`);
}

if (want('unit')) {
  const model = await zoo.mobilenetV2Features({ inputSize: 128 });
  const pics: tf.Tensor3D[] = [];
  for (const [layer, c] of [
    ['block_3_expand_relu', 10],
    ['block_6_expand_relu', 50],
    ['block_13_expand_relu', 42],
  ] as const) {
    const r = await run(visualizeUnit(model, channel(layer, c), { size: 128, steps: 256, seed: 3 }));
    pics.push(r.image as tf.Tensor3D);
    log(`unit ${layer}:${c} loss ${r.loss.toFixed(3)}`);
  }
  await save('unit-mobilenet-fourier', tileGrid(pics, { cols: 3, pad: 4 }));
  const div = await run(
    visualizeUnit(model, channel('block_13_expand_relu', 42), {
      size: 112,
      steps: 256,
      batch: 3,
      diversity: 100,
      diversityLayer: 'block_6_expand_relu',
      seed: 4,
    }),
  );
  await save('unit-mobilenet-diversity', div.image as tf.Tensor3D);
  tf.dispose([...pics, div.image as tf.Tensor3D]);
  void classLogit;
}

if (want('invert')) {
  const model = await zoo.mobilenetV2Features({ inputSize: 128 });
  const cat = fit(await images.load('chelsea'), 128);
  const pics: tf.Tensor3D[] = [cat];
  for (const layer of ['Conv1_relu', 'block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu']) {
    const r = await run(invertFeatures(model, cat, { layer, steps: 300 }));
    const img = r.image as tf.Tensor3D;
    const mse = tf.tidy(() => tf.mean(tf.square(tf.sub(img, cat))).dataSync()[0]);
    log(`invert ${layer}: pixel MSE ${mse.toFixed(4)}, loss ${r.loss.toFixed(4)}`);
    pics.push(img);
  }
  await save('invert-chelsea', tileGrid(pics, { cols: 5, pad: 4 }));
  tf.dispose(pics);
}

if (want('adversarial')) {
  const EPS = 0.1;
  const model = await zoo.fashionCnn();
  const data = await datasets.fashionMnistTest1k();
  const rows: tf.Tensor3D[] = [];
  for (const i of [0, 1, 2]) {
    const x = tf.squeeze(tf.slice(data.images, [i, 0, 0, 0], [1, -1, -1, -1]), [0]) as tf.Tensor3D;
    const target = (data.labels[i] + 3) % 10;
    // Random restarts: PGD from the clean image alone misses some targets (the pullover → sandal row).
    const r = await adversarial(model, x, {
      method: 'pgd',
      epsilon: EPS,
      target,
      steps: 40,
      stepSize: EPS / 10,
      restarts: 3,
      seed: 1,
    });
    log(
      `adversarial #${i}: true ${data.classNames[data.labels[i]]}; before ${r.before.name} ${(100 * r.before.prob).toFixed(1)} %; ` +
        `target ${data.classNames[target]}; after ${r.after.name} ${(100 * r.after.prob).toFixed(1)} %`,
    );
    for (const t of [x, r.image, r.perturbation])
      rows.push(resize(tf.tile(t, [1, 1, 3]) as tf.Tensor3D, [112, 112]));
    r.dispose();
    x.dispose();
  }
  await save('adversarial-fashion', tileGrid(rows, { cols: 3, pad: 4 }));
  tf.dispose(rows);
  data.dispose();
}
log('done');
