// Judges fast style networks against style transfer by optimisation (issue 18, item 2). For every held-out photo
// (centre square, resized to --size) and every style: `transferStyle` at --steps from the same photo, and each
// network's single forward pass; for each picture the style loss and the content loss on the zoo MobileNetV2's
// default style and content layers (the layers both were made with; the style target is the painting resized to
// the output's side, transferStyle's default), and the fraction of pixels with a channel below 0.02 or above 0.98
// where the photo has none (the saturated-sigmoid blotches). Writes one PNG per style (rows: photo | optimisation |
// network(s)) and a Markdown table. Optimisation results are cached in --out, so networks can be judged again
// without paying for the optimisation (about 1 min per photo and style at 256 px on 2 busy cores).
//
//   npx tsx --tsconfig tsconfig.json bench/src/style-network-eval.ts --photos DIR \
//       --net starry_night=packages/synthesis/assets/style-starry-night [--net scream=DIR] \
//       [--net 'starry_night:old=DIR'] [--out out/style-eval] [--size 256] [--steps 100] [--opt-only] [--layers]
//
// A --net key is STYLE or STYLE:LABEL (LABEL names the column; default "network"). --opt-only runs and caches the
// optimisation for the styles named by --net and stops. --layers adds, per style, each column's style loss layer by
// layer (mean over the photos; the style loss is their mean), to see which layers a network's gap comes from.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import * as jpeg from 'jpeg-js';
import { resize, run, tileGrid, type VisionModel } from '@cnnviz/core';
import { images, zoo } from '@cnnviz/models';
import { initBackend, readImage, writePng } from '@cnnviz/node';
import {
  applyStyleNetwork,
  contentLoss,
  gramTargets,
  loadStyleNetwork,
  styleLoss,
  transferStyle,
} from '@cnnviz/synthesis';

const { values } = parseArgs({
  options: {
    photos: { type: 'string' },
    net: { type: 'string', multiple: true, default: [] },
    out: { type: 'string', default: 'out/style-eval' },
    size: { type: 'string', default: '256' },
    steps: { type: 'string', default: '100' },
    backend: { type: 'string', default: 'wasm' },
    'opt-only': { type: 'boolean', default: false },
    'figure-tile': { type: 'string', default: '160' },
    layers: { type: 'boolean', default: false },
  },
});
if (!values.photos) throw new Error('--photos DIR is required (the held-out photographs)');
const size = Number(values.size);
const steps = Number(values.steps);
const out = values.out!;
mkdirSync(out, { recursive: true });

interface NetArg {
  style: string;
  label: string;
  dir: string;
}
const nets: NetArg[] = values.net!.map((a) => {
  const eq = a.indexOf('=');
  if (eq < 0) throw new Error(`--net takes STYLE[:LABEL]=DIR, got ${a}`);
  const [style, label = 'network'] = a.slice(0, eq).split(':');
  return { style, label, dir: a.slice(eq + 1) };
});
const styles = [...new Set(nets.map((n) => n.style))];

const backend = await initBackend({ backend: values.backend });
const model = await zoo.mobilenetV2Features({ inputSize: size });
type Layers = { layersOfInterest?: { content: string; style: string[] } };
const withLayers = model as unknown as Layers & { entry?: Layers };
const layers = (withLayers.layersOfInterest ?? withLayers.entry?.layersOfInterest)!;
const contentLayer = layers.content;
const styleLayers = layers.style;
const layerWeights = styleLayers.map(() => 1 / styleLayers.length);

/** The centre square of `img`, resized to size x size. */
function square(img: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const [h, w] = img.shape;
    const s = Math.min(h, w);
    const crop = tf.slice(
      img,
      [Math.floor((h - s) / 2), Math.floor((w - s) / 2), 0],
      [s, s, 3],
    ) as tf.Tensor3D;
    return resize(crop, [size, size]);
  });
}

/**
 * Fraction of pixels that have a channel below 0.02 or above 0.98 in `img` but none in `photo`: saturation the
 * picture has beyond the photo's own (a per-pixel difference, so a photo's black background cannot hide a blotch).
 */
async function saturatedBeyond(img: tf.Tensor3D, photo: tf.Tensor3D): Promise<number> {
  const f = tf.tidy(() => {
    const sat = (x: tf.Tensor3D) => tf.any(tf.logicalOr(tf.less(x, 0.02), tf.greater(x, 0.98)), 2);
    return tf.mean(tf.cast(tf.logicalAnd(sat(img), tf.logicalNot(sat(photo))), 'float32'));
  });
  const v = (await f.data())[0];
  f.dispose();
  return v;
}

/** `img` [H,W,3] in 0..1 as a JPEG (quality 88), written to a temporary name and renamed. */
async function writeJpeg(path: string, img: tf.Tensor3D): Promise<void> {
  const [h, w] = img.shape;
  const bytes = tf.tidy(() => tf.cast(tf.round(tf.mul(tf.clipByValue(img, 0, 1), 255)), 'int32'));
  const rgb = await bytes.data();
  bytes.dispose();
  const rgba = Buffer.alloc(w * h * 4, 255);
  for (let i = 0; i < w * h; i++) for (let c = 0; c < 3; c++) rgba[4 * i + c] = rgb[3 * i + c];
  writeFileSync(`${path}.tmp`, jpeg.encode({ data: rgba, width: w, height: h }, 88).data);
  renameSync(`${path}.tmp`, path);
}

interface Metrics {
  style: number;
  content: number;
  saturated: number;
  /** Mean squared difference to the photo, both average-pooled over cells of 1/16 of the side: colour drift. */
  color: number;
  /** The style loss of each style layer alone (relative Gram distance); `style` is their weighted sum. */
  perLayer: number[];
  /** Fraction of pixels warm in the photo (R > G + 0.1) and green in the picture (G > R + 0.05): Starry Night's spots. */
  warmToGreen: number;
}

async function measure(
  m: VisionModel,
  img: tf.Tensor3D,
  photo: tf.Tensor3D,
  targets: tf.Tensor2D[],
): Promise<Metrics> {
  const [per, c] = tf.tidy(() => {
    const x = tf.stack([img, photo]) as tf.Tensor4D;
    const acts = m.forward(m.preprocess(x), [contentLayer, ...styleLayers], { logits: false }).activations;
    const first = (t: tf.Tensor) => tf.slice(t, 0, 1);
    const layerLosses = styleLayers.map((l, i) => styleLoss([first(acts[l])], [targets[i]], [1]));
    const cl = contentLoss(first(acts[contentLayer]), tf.slice(acts[contentLayer], 1, 1));
    return [tf.concat(layerLosses), cl];
  });
  const cell = Math.max(1, Math.round(size / 16));
  const drift = tf.tidy(() => {
    const pool = (x: tf.Tensor3D) => tf.avgPool(tf.expandDims(x, 0) as tf.Tensor4D, cell, cell, 'same');
    return tf.mean(tf.square(tf.sub(pool(img), pool(photo))));
  });
  const spots = tf.tidy(() => {
    const redMinusGreen = (x: tf.Tensor3D) =>
      tf.sub(tf.slice(x, [0, 0, 0], [-1, -1, 1]), tf.slice(x, [0, 0, 1], [-1, -1, 1]));
    return tf.mean(
      tf.cast(
        tf.logicalAnd(tf.greater(redMinusGreen(photo), 0.1), tf.less(redMinusGreen(img), -0.05)),
        'float32',
      ),
    );
  });
  const warmToGreen = (await spots.data())[0];
  spots.dispose();
  const perLayer = Array.from(await per.data());
  const metrics = {
    style: perLayer.reduce((sum, v, i) => sum + v * layerWeights[i], 0),
    perLayer,
    warmToGreen,
    content: (await c.data())[0],
    saturated: await saturatedBeyond(img, photo),
    color: (await drift.data())[0],
  };
  tf.dispose([per, c, drift]);
  return metrics;
}

const files = readdirSync(values.photos)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort();
const photos: { name: string; image: tf.Tensor3D }[] = [];
for (const f of files) {
  const raw = await readImage(join(values.photos, f), { channels: 3 });
  photos.push({ name: f.replace(/\.[^.]+$/, ''), image: square(raw) });
  raw.dispose();
}
console.log(`${backend.name}; ${photos.length} photos at ${size} px; styles ${styles.join(', ')}`);

type Row = { photo: string; [column: string]: Metrics | string };
const table: string[] = [];
for (const style of styles) {
  const styleImage = style.includes('.')
    ? await readImage(style, { channels: 3 })
    : await images.load(style as 'starry_night');
  const targets = tf.tidy(() => {
    const [h, w] = styleImage.shape;
    const k = size / Math.max(h, w);
    return gramTargets(model, resize(styleImage, [Math.round(h * k), Math.round(w * k)]), styleLayers);
  });
  const cacheDir = join(out, `opt-${style}-${size}px-${steps}`);
  mkdirSync(cacheDir, { recursive: true });
  const rows: Row[] = [];
  const panels: tf.Tensor3D[] = [];
  const mine = nets.filter((n) => n.style === style);
  const loaded = values['opt-only'] ? [] : await Promise.all(mine.map((n) => loadStyleNetwork(n.dir)));
  for (const { name, image } of photos) {
    const cached = join(cacheDir, `${name}.json`);
    let opt: tf.Tensor3D;
    if (existsSync(cached)) {
      const c = JSON.parse(readFileSync(cached, 'utf8')) as { pixels: number[] };
      opt = tf.tensor3d(Float32Array.from(c.pixels), [size, size, 3]);
    } else {
      const t0 = Date.now();
      const last = await run(transferStyle(model, image, [{ image: styleImage, weight: 1 }], { steps }));
      opt = last.image!;
      writeFileSync(
        `${cached}.tmp`,
        JSON.stringify({ pixels: Array.from(await opt.data(), (v) => +v.toFixed(5)) }),
      );
      renameSync(`${cached}.tmp`, cached);
      console.log(`${style} ${name}: optimisation ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    // Measured from the cached pixels too (5 decimals), so every column is measured the same way.
    const optMetrics = await measure(model, opt, image, targets);
    const row: Row = { photo: name, optimisation: optMetrics };
    panels.push(tf.clone(image), opt);
    for (const [i, net] of loaded.entries()) {
      const y = applyStyleNetwork(net, image);
      row[mine[i].label] = await measure(model, y, image, targets);
      panels.push(y);
    }
    rows.push(row);
  }
  loaded.forEach((n) => n.dispose());
  if (values['opt-only']) {
    tf.dispose([...panels, styleImage, ...targets]);
    continue;
  }
  const cols = 2 + mine.length;
  const grid = tileGrid(panels, { cols, pad: 4 });
  await writePng(join(out, `triptych-${style}.png`), grid);
  // The README's figure: two photos' rows side by side, smaller tiles, JPEG (a PNG of photos is ~10x larger).
  const t = Number(values['figure-tile']);
  const small = panels.map((p) => resize(p, [t, t]));
  const figure = tileGrid(small, { cols: 2 * cols, pad: 4 });
  await writeJpeg(join(out, `triptych-${style}.jpg`), figure);
  tf.dispose([grid, figure, ...small, ...panels, styleImage, ...targets]);

  // One line per photo: each column's style loss, content loss and extra saturated pixels, and the
  // network/optimisation ratios the targets are stated in.
  const pct = (v: number) => `${(100 * v).toFixed(2)} %`;
  const head = ['photo', 'optimisation style / content / sat. / colour'];
  for (const n of mine)
    head.push(`${n.label} style / content / sat. / colour`, `${n.label} ratios (style, content)`);
  table.push(`### ${style} (${size} px, transferStyle ${steps} steps)`, '');
  table.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`);
  const cell = (m: Metrics) =>
    `${m.style.toFixed(3)} / ${m.content.toFixed(3)} / ${pct(m.saturated)} / ${m.color.toFixed(3)}`;
  const sums: Record<string, Metrics> = {};
  for (const r of rows) {
    const o = r.optimisation as Metrics;
    const line = [r.photo, cell(o)];
    for (const n of mine) {
      const m = r[n.label] as Metrics;
      line.push(cell(m), `${(m.style / o.style).toFixed(2)}×, ${(m.content / o.content).toFixed(2)}×`);
    }
    for (const k of ['optimisation', ...mine.map((n) => n.label)]) {
      const m = r[k] as Metrics;
      sums[k] ??= {
        style: 0,
        content: 0,
        saturated: 0,
        color: 0,
        perLayer: styleLayers.map(() => 0),
        warmToGreen: 0,
      };
      sums[k].warmToGreen += m.warmToGreen / rows.length;
      m.perLayer.forEach((v, i) => (sums[k].perLayer[i] += v / rows.length));
      sums[k].style += m.style / rows.length;
      sums[k].content += m.content / rows.length;
      sums[k].saturated += m.saturated / rows.length;
      sums[k].color += (m.color ?? NaN) / rows.length;
    }
    table.push(`| ${line.join(' | ')} |`);
  }
  const mean = ['**mean**', cell(sums.optimisation)];
  for (const n of mine)
    mean.push(
      cell(sums[n.label]),
      `${(sums[n.label].style / sums.optimisation.style).toFixed(2)}×, ${(sums[n.label].content / sums.optimisation.content).toFixed(2)}×`,
    );
  table.push(`| ${mean.join(' | ')} |`, '');
  if (values.layers) {
    table.push(
      `Style loss per layer (mean over the photos; the style loss is their mean), and the pixels warm in the photo`,
      `(R > G + 0.1) that came out green (G > R + 0.05):`,
      '',
    );
    table.push(
      `| column | ${styleLayers.join(' | ')} | warm to green |`,
      `|---|${styleLayers.map(() => '---').join('|')}|---|`,
    );
    for (const [k, m] of Object.entries(sums))
      table.push(`| ${k} | ${m.perLayer.map((v) => v.toFixed(4)).join(' | ')} | ${pct(m.warmToGreen)} |`);
    table.push('');
  }
}
tf.dispose(photos.map((p) => p.image));
if (table.length > 0) {
  writeFileSync(join(out, 'table.md'), table.join('\n'));
  console.log(table.join('\n'));
}
