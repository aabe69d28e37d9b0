import '@tensorflow/tfjs-backend-cpu';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { images, zoo } from '@cnnviz/models';
import type { VisionModel } from '@cnnviz/core';
import { readImage, writePng } from '../image-io.js';
import { COMMANDS } from './commands/index.js';
import { ROOT, cli, greyValues, readPng, startCli } from './test-cli.js';

// Each test spawns the CLI as a user would and checks the picture it writes, not only that it
// wrote one. Settings are the smallest that still show the effect (CI has 2 cores).

let dir: string;
let fashion: VisionModel;
const out = (name: string) => join(dir, name);

/** Pixels of a bundled Fashion-MNIST image that belong to the garment (the background is black). */
async function objectMask(name: string): Promise<boolean[]> {
  const img = (await images.load(name)) as tf.Tensor3D;
  const grey = tf.tidy(() => (img.shape[2] === 1 ? img : tf.mean(img, 2, true)));
  const v = await grey.data();
  tf.dispose([img, grey]);
  return Array.from(v, (x) => x > 0.15);
}

function meanWhere(v: Float32Array, mask: boolean[], want: boolean): number {
  let s = 0;
  let n = 0;
  v.forEach((x, i) => {
    if (mask[i] === want) {
      s += x;
      n++;
    }
  });
  return s / n;
}

async function classifyPng(path: string): Promise<number> {
  const img = await readImage(path, { channels: 1 });
  const k = tf.tidy(() => tf.argMax(fashion.forward(fashion.preprocess(img)).logits, 1));
  const [c] = await k.data();
  tf.dispose([img, k]);
  return c;
}

/** A bundled photo as the CLI feeds it to a model that takes any size: centred square, resized, RGB 0..1. */
async function loadSquare(name: string, size: number): Promise<Float32Array> {
  const img = (await images.load(name)) as tf.Tensor3D;
  const [h, w] = img.shape;
  const s = Math.min(h, w);
  const sq = tf.tidy(() =>
    tf.image.resizeBilinear(
      tf.slice(img, [Math.floor((h - s) / 2), Math.floor((w - s) / 2), 0], [s, s, 3]),
      [size, size],
      false,
      true,
    ),
  );
  const v = (await sq.data()) as Float32Array;
  tf.dispose([img, sq]);
  return v;
}

const label = (name: string) => fashion.labels!.findIndex((l) => l.toLowerCase() === name.toLowerCase());

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cnnviz-cli-'));
  await tf.setBackend('cpu');
  fashion = await zoo.fashionCnn();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('cnnviz --help', () => {
  it('prints help with an example for every subcommand, quickly (no TF.js load)', async () => {
    const all = await cli(['--help']);
    expect(all.code).toBe(0);
    for (const c of COMMANDS) expect(all.stdout).toContain(`  ${c.spec.name}`);
    const runs = await Promise.all(COMMANDS.map((c) => cli([c.spec.name, '--help'])));
    runs.forEach((r, i) => {
      expect(r.code, COMMANDS[i].spec.name).toBe(0);
      expect(r.stdout).toContain(`Usage: cnnviz ${COMMANDS[i].spec.name}`);
      expect(r.stdout).toMatch(/Examples?:\n {2}cnnviz /);
    });
  });
});

describe('attribution subcommands', () => {
  it('saliency: the picture is |d score / d pixel| of the predicted class, as computed here', async () => {
    const r = await cli([
      'saliency',
      'fashion-trouser',
      '-m',
      'fashion-cnn',
      '--view',
      'heatmap',
      '--colormap',
      'gray',
      '--scale',
      '1',
      '-o',
      out('sal.png'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results[0].target).toMatch(/Trouser/);
    const { width, v } = greyValues(out('sal.png'));
    expect(width).toBe(28);
    // Reference: the same gradient in this process (cpu backend), min-max scaled as the gray colormap does.
    const img = (await images.load('fashion-trouser')) as tf.Tensor3D;
    const k = label('Trouser');
    const g = tf.grad((x: tf.Tensor) =>
      tf.squeeze(tf.slice(fashion.forward(fashion.preprocess(x as tf.Tensor3D)).logits, [0, k], [1, 1])),
    )(img);
    const ref = await tf.abs(g).data();
    tf.dispose([img, g]);
    let lo = Infinity;
    let hi = -Infinity;
    ref.forEach((x) => ((lo = Math.min(lo, x)), (hi = Math.max(hi, x))));
    const worst = Math.max(...Array.from(ref, (x, i) => Math.abs((x - lo) / (hi - lo) - v[i])));
    expect(worst).toBeLessThan(0.03);
  });

  it('gradcam: the heat of a cat unit is on the cat, not on the blank rest of the picture', async () => {
    // A 224 px picture: the cat in the top-left quadrant, flat grey elsewhere.
    const mobilenet = await zoo.mobilenetV2Features({ inputSize: 224 });
    const cat = await loadSquare('chelsea', 112);
    const canvas = new Float32Array(224 * 224 * 3).fill(0.5);
    for (let y = 0; y < 112; y++)
      for (let x = 0; x < 112; x++)
        for (let c = 0; c < 3; c++) canvas[(y * 224 + x) * 3 + c] = cat[(y * 112 + x) * 3 + c];
    const composite = tf.tensor3d(canvas, [224, 224, 3]);
    await writePng(out('composite.png'), composite);
    // The out_relu channel that fires most on the cat relative to a blank picture.
    const unit = tf.tidy(() => {
      const act = (x: tf.Tensor3D) =>
        tf.mean(mobilenet.forward(mobilenet.preprocess(x), ['out_relu']).activations.out_relu, [0, 1, 2]);
      const catOnly = tf.image.resizeBilinear(tf.tensor3d(cat, [112, 112, 3]), [224, 224]) as tf.Tensor3D;
      return tf.argMax(tf.sub(act(catOnly), act(tf.fill([224, 224, 3], 0.5) as tf.Tensor3D)));
    });
    const c = (await unit.data())[0];
    tf.dispose([unit, composite]);
    mobilenet.dispose?.();
    const r = await cli([
      'gradcam',
      out('composite.png'),
      '-m',
      'mobilenet-v2',
      '--objective',
      `out_relu:${c}`,
      '--view',
      'heatmap',
      '--colormap',
      'gray',
      '--scale',
      '1',
      '-o',
      out('cam.png'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { width, v } = greyValues(out('cam.png'));
    expect(width).toBe(224);
    // Grad-CAM's cells are 32 px: count the quadrant and the cell next to it as "the cat".
    const onCat = Array.from(v, (_, i) => i % 224 < 144 && Math.floor(i / 224) < 144);
    const total = v.reduce((a, b) => a + b, 0);
    const catHeat = v.reduce((a, b, i) => a + (onCat[i] ? b : 0), 0);
    expect(catHeat / total).toBeGreaterThan(0.8);
    const hottest = v.indexOf(Math.max(...v));
    expect(onCat[hottest]).toBe(true);
  });

  it('occlusion: hiding the garment lowers the score more than hiding the background', async () => {
    const r = await cli([
      'occlusion',
      'fashion-sneaker',
      '-m',
      'fashion-cnn',
      '--window',
      '6',
      '--stride',
      '3',
      '--view',
      'heatmap',
      '--colormap',
      'gray',
      '--scale',
      '1',
      '-o',
      out('occ.png'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { v } = greyValues(out('occ.png'));
    const mask = await objectMask('fashion-sneaker');
    expect(meanWhere(v, mask, true)).toBeGreaterThan(meanWhere(v, mask, false));
  });

  it('guided: the gradient picture departs from grey on the garment, not the background', async () => {
    const r = await cli([
      'guided',
      'fashion-ankle-boot',
      '-m',
      'fashion-cnn',
      '--scale',
      '1',
      '-o',
      out('gb.png'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { v } = greyValues(out('gb.png'));
    const dev = v.map((x) => Math.abs(x - 0.5));
    const mask = await objectMask('fashion-ankle-boot');
    expect(meanWhere(dev, mask, true)).toBeGreaterThan(meanWhere(dev, mask, false));
  });

  it('guided --rule deconvnet: the picture is the deconvnet gradient as computed here, unlike guided', async () => {
    const r = await cli([
      'guided',
      'fashion-ankle-boot',
      '-m',
      'fashion-cnn',
      '--rule',
      'deconvnet',
      '--scale',
      '1',
      '-o',
      out('deconv.png'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const { v } = greyValues(out('deconv.png'));
    const img = (await images.load('fashion-ankle-boot')) as tf.Tensor3D;
    const a = await import('@cnnviz/attribution');
    const { gradientPicture } = await import('./render.js');
    const refs: Float32Array[] = [];
    for (const rule of ['deconvnet', 'guided'] as const) {
      const res = await a.guidedBackprop(fashion, img, { target: label('Ankle boot'), rule });
      const pic = gradientPicture(res.raw as tf.Tensor3D);
      refs.push((await pic.data()) as Float32Array);
      tf.dispose([pic]);
      res.dispose();
    }
    img.dispose();
    const worst = (ref: Float32Array) => Math.max(...Array.from(ref, (x, i) => Math.abs(x - v[i])));
    expect(worst(refs[0])).toBeLessThan(0.01);
    expect(worst(refs[1])).toBeGreaterThan(0.05);
  });

  it('filters: one tile per first-layer filter, not blank', async () => {
    const r = await cli(['filters', '-m', 'fashion-cnn', '--scale', '4', '-o', out('filters.png'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    const conv = fashion.getWeights!(json.layer).find((w) => w.rank === 4)!;
    const [kh, , , filters] = conv.shape;
    expect(json.tiles).toBe(filters);
    const { width, rgb } = readPng(out('filters.png'));
    const cols = Math.ceil(Math.sqrt(filters));
    expect(width).toBe(cols * kh * 4 + (cols + 1));
    expect(new Set(rgb).size).toBeGreaterThan(10);
  });

  it('patches: k patches from a glob of images, best first', async () => {
    const r = await cli([
      'patches',
      'packages/models/assets/images/fashion-*.png',
      '-m',
      'fashion-cnn',
      '--channel',
      '3',
      '-k',
      '4',
      '-o',
      out('patches.png'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.patches).toHaveLength(4);
    const values = json.patches.map((p: { value: number }) => p.value);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    expect(readPng(out('patches.png')).width).toBe(2 * 64 + 3 * 2);
  });
});

describe('synthesis subcommands', () => {
  it('class: the synthesised image is classified as the class asked for', async () => {
    const r = await cli([
      'class',
      '-m',
      'fashion-cnn',
      '--target',
      'Trouser',
      '--steps',
      '60',
      '--scale',
      '1',
      '-o',
      out('class.png'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(await classifyPng(out('class.png'))).toBe(label('Trouser'));
  });

  it('adversarial: the saved image classifies as the target and stays within epsilon', async () => {
    const r = await cli([
      'adversarial',
      'fashion-sneaker',
      '-m',
      'fashion-cnn',
      '--target',
      'Bag',
      '--epsilon',
      '0.15',
      '--steps',
      '20',
      '-o',
      out('adv.png'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results[0].success).toBe(true);
    expect(await classifyPng(out('adv.png'))).toBe(label('Bag'));
    const adv = greyValues(out('adv.png')).v;
    const orig = (await objectMask('fashion-sneaker')).length;
    expect(adv.length).toBe(orig);
    const original = await readImage(join(ROOT, 'packages/models/assets/images/fashion-sneaker.png'), {
      channels: 1,
    });
    const o = await original.data();
    original.dispose();
    expect(Math.max(...adv.map((x, i) => Math.abs(x - o[i])))).toBeLessThanOrEqual(0.15 + 1 / 255);
  });

  it('dream: changes the picture without replacing it', async () => {
    const r = await cli([
      'dream',
      'chelsea',
      '-m',
      'mobilenet-v2',
      '--size',
      '96',
      '--layer',
      'block_3_expand_relu',
      '--octaves',
      '1',
      '--steps',
      '3',
      '--scale',
      '1',
      '-o',
      out('dream.png'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const d = readPng(out('dream.png'));
    expect([d.width, d.height]).toEqual([96, 96]);
    // The dream keeps the picture (same layout) and adds to it.
    const original = await loadSquare('chelsea', 96);
    const diffs = Array.from(original, (o, i) => Math.abs(d.rgb[i] / 255 - o));
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    expect(mean).toBeGreaterThan(0.01);
    expect(mean).toBeLessThan(0.2);
  });
});

describe('model and embedding subcommands', () => {
  it('info: says which backend runs and why', async () => {
    const r = await cli(['info', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.backend.name).toBe('wasm');
    expect(json.backend.reason).toMatch(/CNNVIZ_BACKEND/);
    expect(json.backend.precision).toBe('float32');
    expect(json.backend.precisionReason).toBe('float32 (the default)');
    expect(json.zoo).toEqual(['fashion-cnn', 'mobilenet-v2', 'inception-v3']);
    expect(json.images).toContain('chelsea');
  });

  it('layers: lists the layers with their output shapes', async () => {
    const r = await cli(['layers', '-m', 'fashion-cnn', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { layers } = JSON.parse(r.stdout) as {
      layers: { name: string; kind: string; outputShape: number[] }[];
    };
    expect(layers.map((l) => l.name)).toEqual(fashion.layers.map((l) => l.name));
    const last = layers[layers.length - 1];
    expect(last.outputShape).toEqual([10]);
  });

  it('embed: neighbours in feature space share the class, and every image gets a point', async () => {
    const r = await cli([
      'embed',
      '--dataset',
      'fashion-mnist-1k',
      '--limit',
      '200',
      '-m',
      'fashion-cnn',
      '--method',
      'pca',
      '--knn',
      '3',
      '-o',
      out('pca.png'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.points).toHaveLength(200);
    const classOf = (name: string) => name.split('] ')[1];
    const pairs = (json.neighbours as { image: string; neighbours: { image: string }[] }[]).flatMap((n) =>
      n.neighbours.map((m) => classOf(m.image) === classOf(n.image)),
    );
    // Chance is about 10 %; a trained network's logits put most neighbours in the same class.
    expect(pairs.filter(Boolean).length / pairs.length).toBeGreaterThan(0.6);
    const png = readPng(out('pca.png'));
    expect([png.width, png.height]).toEqual([640, 640]);
  });

  it('atlas: every sample lands in one cell, cells under --min-count stay out, boxes cover their unit', async () => {
    const r = await cli([
      'atlas',
      '--dataset',
      'fashion-mnist-1k',
      '--limit',
      '60',
      '-m',
      'fashion-cnn',
      '--layer',
      'conv3',
      '--grid',
      '3',
      '--min-count',
      '2',
      '--steps',
      '3',
      '--iterations',
      '50',
      '-o',
      out('atlas.png'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.samples).toBe(240);
    const full = JSON.parse(readFileSync(summary.json, 'utf8')) as {
      cells: {
        row: number;
        col: number;
        count: number;
        examples: { y: number; x: number; box: Record<string, number> }[];
      }[];
    };
    const counted = full.cells.reduce((a, c) => a + c.count, 0);
    // At most 9 cells, each dropped one held a single sample.
    expect(counted).toBeGreaterThanOrEqual(240 - (9 - full.cells.length));
    expect(counted).toBeLessThanOrEqual(240);
    for (const c of full.cells) {
      expect(c.count).toBeGreaterThanOrEqual(2);
      for (const e of c.examples) {
        // conv3 sits behind two 2x2 poolings: unit (y, x) is centred near input pixel 4y+2, 4x+2.
        expect(e.box.top).toBeLessThanOrEqual(4 * e.y + 2);
        expect(e.box.top + e.box.height).toBeGreaterThan(4 * e.y + 2);
        expect(e.box.left).toBeLessThanOrEqual(4 * e.x + 2);
        expect(e.box.left + e.box.width).toBeGreaterThan(4 * e.x + 2);
      }
    }
    const png = readPng(out('atlas.png'));
    expect([png.width, png.height]).toEqual([84, 84]);
  });
});

describe('more synthesis subcommands (small MobileNetV2 runs)', () => {
  it('invert: a shallow layer brings the picture back', async () => {
    const r = await cli([
      'invert',
      'chelsea',
      '-m',
      'mobilenet-v2',
      '--size',
      '64',
      '--layer',
      'block_1_expand_relu',
      '--steps',
      '30',
      '--scale',
      '1',
      '-o',
      out('inv.png'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    // Read the picture back and compare its features at the layer with the original's, here on cpu.
    const rec = readPng(out('inv.png'));
    expect(rec.width).toBe(64);
    const mobilenet = await zoo.mobilenetV2Features({ inputSize: 64 });
    const original = tf.tensor3d(await loadSquare('chelsea', 64), [64, 64, 3]);
    const reconstruction = tf.tensor3d(
      Float32Array.from(rec.rgb, (x) => x / 255),
      [64, 64, 3],
    );
    const grey = tf.fill([64, 64, 3], 0.5) as tf.Tensor3D;
    const distance = (x: tf.Tensor3D) =>
      tf.tidy(() => {
        const f = (y: tf.Tensor3D) =>
          mobilenet.forward(mobilenet.preprocess(y), ['block_1_expand_relu']).activations.block_1_expand_relu;
        const target = f(original);
        return tf.div(tf.sum(tf.square(tf.sub(f(x), target))), tf.sum(tf.square(target))).dataSync()[0];
      });
    const [dRec, dGrey] = [distance(reconstruction), distance(grey)];
    tf.dispose([original, reconstruction, grey]);
    mobilenet.dispose?.();
    expect(dRec).toBeLessThan(0.3);
    expect(dRec).toBeLessThan(dGrey / 3);
  });

  it('texture: the synthesised texture matches the Gram statistics far better than a blank image', async () => {
    const r = await cli([
      'texture',
      'brick',
      '-m',
      'mobilenet-v2',
      '--size',
      '64',
      '--steps',
      '5',
      '--optimizer',
      'lbfgs',
      '-o',
      out('tex.png'),
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results[0].loss).toBeLessThan(0.5);
    expect(readPng(out('tex.png')).width).toBe(64 * 4);
  });

  it('style: changes the content image', async () => {
    const r = await cli([
      'style',
      'chelsea',
      '--style',
      'starry_night',
      '-m',
      'mobilenet-v2',
      '--size',
      '64',
      '--steps',
      '5',
      '--lr',
      '0.1',
      '-o',
      out('style.png'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const styled = readPng(out('style.png'));
    expect(styled.width).toBe(64);
    const original = await loadSquare('chelsea', 64);
    const diff = original.reduce((a, o, i) => a + Math.abs(styled.rgb[i] / 255 - o), 0) / original.length;
    expect(diff).toBeGreaterThan(0.02);
  });

  it('gallery: one page linking every picture it wrote', async () => {
    const target = out('gallery');
    const r = await cli([
      'gallery',
      'fashion-bag',
      '-m',
      'fashion-cnn',
      '--techniques',
      'saliency,gradcam',
      '-o',
      target,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(join(target, 'index.html'), 'utf8');
    const srcs = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    expect(srcs).toEqual(['saliency/fashion-bag.saliency.png', 'gradcam/fashion-bag.gradcam.png']);
    for (const s of srcs) expect(readPng(join(target, s)).width).toBeGreaterThan(0);
  });
});

describe('errors: one line, exit 2, no file', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'unknown model',
      ['saliency', 'fashion-bag', '-m', 'resnet-9000'],
      /unknown model "resnet-9000".*zoo name \(fashion-cnn, mobilenet-v2, inception-v3\)/,
    ],
    [
      'unknown layer',
      ['gradcam', 'fashion-bag', '-m', 'fashion-cnn', '--layer', 'conv9'],
      /unknown layer "conv9"; close names: .*cnnviz layers --model fashion-cnn/,
    ],
    [
      'unknown class',
      ['saliency', 'fashion-bag', '-m', 'fashion-cnn', '--target', 'Giraffe'],
      /unknown class "Giraffe"; classes: 0 T-shirt/,
    ],
    [
      'missing file',
      ['saliency', 'no-such-image.png', '-m', 'fashion-cnn'],
      /cannot read image "no-such-image.png": no such file/,
    ],
    [
      'not an image',
      ['saliency', 'package.json', '-m', 'fashion-cnn'],
      /"package.json" is not an image: expected a PNG, JPEG or WebP file/,
    ],
    [
      'unknown option',
      ['saliency', 'fashion-bag', '--stpes', '3'],
      /unknown option --stpes; see `cnnviz saliency --help`/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const target = mkdtempSync(join(dir, 'err-'));
      const r = await cli([...args, '-o', join(target, 'x.png')]);
      expect(r.code).toBe(2);
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('cnnviz')),
      ).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(readdirSync(target)).toEqual([]);
    });
  }

  it('corrupt model.json', async () => {
    const bad = mkdtempSync(join(dir, 'model-'));
    writeFileSync(join(bad, 'model.json'), '{ "modelTopology": ');
    const target = mkdtempSync(join(dir, 'err-'));
    const r = await cli([
      'saliency',
      'fashion-bag',
      '-m',
      join(bad, 'model.json'),
      '-o',
      join(target, 'x.png'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /cannot load model .*model\.json.* — use a zoo name .* or a path to a model\.json/,
    );
    expect(readdirSync(target)).toEqual([]);
  });

  it('output directory not writable', async () => {
    writeFileSync(out('a-file'), 'x');
    const r = await cli(['saliency', 'fashion-bag', '-m', 'fashion-cnn', '-o', join(out('a-file'), 'x.png')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /output directory ".*a-file" is not writable \(".*a-file" is a file, not a directory\) — choose another --output/,
    );
  });
});

describe('Ctrl-C', () => {
  it('stops a run cleanly: exit 130 and no output file, not even a temporary one', async () => {
    const target = mkdtempSync(join(dir, 'sigint-'));
    let sent = false;
    const { done } = startCli(
      ['class', '-m', 'fashion-cnn', '--target', '1', '--steps', '100000', '-o', join(target, 'x.png')],
      {
        onStderr: (all, child) => {
          if (!sent && all.includes('backend:')) {
            sent = true;
            setTimeout(() => child.kill('SIGINT'), 4000);
          }
        },
      },
    );
    const r = await done;
    expect(sent).toBe(true);
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted; no output written/);
    expect(readdirSync(target)).toEqual([]);
  });
});
