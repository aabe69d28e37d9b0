import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CnnvizError } from '@cnnviz/core';
import { activationAtlas } from './activation-atlas.js';
import { sampleActivations } from './sample-activations.js';
import { testImage, tinyModel } from './test-util.js';

let model: ReturnType<typeof tinyModel>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  model = tinyModel();
});
afterAll(() => model.dispose());

// Six 2-channel vectors on a 2x2 grid. Layout x spans 0..4, y spans 0..2, so a point lands in
// column floor(x/4*2) (x = 4 is clamped into the last column) and row floor(y/2*2).
const acts = [
  [1, 0],
  [3, 2],
  [0, 5],
  [2, 2],
  [4, 4],
  [9, 9],
].map((v) => Float32Array.from(v));
const coords = [
  [0, 0], // row 0, col 0
  [1, 0.5], // row 0, col 0
  [4, 0], // row 0, col 1
  [0, 2], // row 1, col 0
  [1.9, 1.5], // row 1, col 0
  [3, 1.9], // row 1, col 1
].map((v) => Float32Array.from(v));

/** Lucid's atlas objective at the icon's centre, computed in plain JS from the layer's activation. */
function objectiveByHand(v: Float32Array, d: Float32Array, power: number): number {
  let dot = 0;
  let nv = 0;
  let nd = 0;
  for (let i = 0; i < v.length; i++) {
    dot += v[i] * d[i];
    nv += v[i] ** 2;
    nd += d[i] ** 2;
  }
  const cos = Math.max(0.1, dot / (Math.sqrt(nv) * Math.sqrt(nd) + 1e-4));
  return (dot / v.length) * cos ** power;
}

describe('activationAtlas', () => {
  it('bins the layout, averages each cell and keeps the nearest examples (hand-computed)', async () => {
    // relu1 has 8 channels; pad the 2-channel fixture with zeros so the model can render it.
    const pad = (v: Float32Array) => Float32Array.from([...v, 0, 0, 0, 0, 0, 0]);
    const r = await activationAtlas(model, {
      layer: 'relu1',
      activations: acts.map(pad),
      coords,
      grid: 2,
      size: 8,
      steps: 1,
      examples: 1,
    });
    try {
      expect(r.image.shape).toEqual([16, 16, 3]);
      expect(r.cells.map((c) => [c.row, c.col, c.count])).toEqual([
        [0, 0, 2],
        [0, 1, 1],
        [1, 0, 2],
        [1, 1, 1],
      ]);
      expect(Array.from(r.cells[0].mean.slice(0, 2))).toEqual([2, 1]);
      expect(Array.from(r.cells[1].mean.slice(0, 2))).toEqual([0, 5]);
      expect(Array.from(r.cells[2].mean.slice(0, 2))).toEqual([3, 3]);
      expect(Array.from(r.cells[3].mean.slice(0, 2))).toEqual([9, 9]);
      // Cell (1,0): both [2,2] and [4,4] are sqrt(2) from the mean [3,3]; the stable sort keeps index 3.
      expect(r.cells.map((c) => c.examples)).toEqual([[0], [2], [3], [5]]);
    } finally {
      r.dispose();
    }
  });

  it('leaves cells under minCount white and reports no cell for them', async () => {
    const r = await activationAtlas(model, {
      layer: 'relu1',
      activations: tf.tidy(() => tf.tensor2d(acts.map((v) => [...v, 0, 0, 0, 0, 0, 0]))) as tf.Tensor2D,
      coords,
      grid: 2,
      size: 8,
      steps: 1,
      minCount: 2,
    });
    try {
      expect(r.cells.map((c) => [c.row, c.col])).toEqual([
        [0, 0],
        [1, 0],
      ]);
      const corner = tf.slice(r.image, [0, 8, 0], [8, 8, 3]);
      const top = await corner.data();
      corner.dispose();
      expect(Math.min(...top)).toBe(1);
    } finally {
      r.dispose();
    }
  });

  it('scores each icon with Lucid objective (checked by hand) and the batched ascent raises it', async () => {
    const rng = (i: number) => Math.abs(Math.sin(i * 12.9898) * 43758.5453) % 1;
    const vecs = Array.from({ length: 12 }, (_, i) =>
      Float32Array.from({ length: 16 }, (_, j) => rng(i * 16 + j)),
    );
    const xy = vecs.map((_, i) => Float32Array.from([i % 2, Math.floor(i / 6)]));
    const opts = { layer: 'relu2', activations: vecs, coords: xy, grid: 2, size: 16, seed: 3 };
    const short = await activationAtlas(model, { ...opts, steps: 1 });
    const long = await activationAtlas(model, { ...opts, steps: 25 });
    try {
      expect(long.cells.length).toBe(4);
      for (let i = 0; i < 4; i++) expect(long.cells[i].score).toBeGreaterThan(short.cells[i].score);
      // Reference: run the model on the icon cut from the atlas, take relu2 at the centre.
      const cell = long.cells[0];
      const icon = tf.slice(long.image, [cell.row * 16, cell.col * 16, 0], [16, 16, 3]);
      const a = tf.tidy(
        () =>
          model.forward(model.preprocess(tf.expandDims(icon, 0) as tf.Tensor4D), ['relu2']).activations.relu2,
      );
      const v = (await tf.slice(a, [0, 4, 4, 0], [1, 1, 1, 16]).data()) as Float32Array;
      tf.dispose([icon, a]);
      expect(cell.score).toBeCloseTo(objectiveByHand(v, cell.mean, 2), 4);
    } finally {
      short.dispose();
      long.dispose();
    }
  });

  it('cells optimised in one batch do not influence each other', async () => {
    const vecs = Array.from({ length: 3 }, (_, i) =>
      Float32Array.from({ length: 16 }, (_, j) => ((i * 7 + j * 3) % 5) / 4),
    );
    const other = vecs.map((v, i) => (i === 0 ? v.map((x) => 1 - x) : v));
    const xy = vecs.map((_, i) => Float32Array.from([i, 0]));
    // Same seed, so the same starting spectrum and transforms; only cell 0's direction differs.
    // Lucid sums one objective per item: cells 1 and 2 must not see cell 0's change.
    const opts = { layer: 'relu2', coords: xy, grid: 3, size: 16, steps: 10, seed: 3 };
    const r1 = await activationAtlas(model, { ...opts, activations: vecs });
    const r2 = await activationAtlas(model, { ...opts, activations: other });
    try {
      const cut = (t: tf.Tensor3D, col: number): number[] => {
        const part = tf.slice(t, [0, col * 16, 0], [16, 16, 3]);
        const values = Array.from(part.dataSync());
        part.dispose();
        return values;
      };
      expect(cut(r1.image, 1)).toEqual(cut(r2.image, 1));
      expect(cut(r1.image, 2)).toEqual(cut(r2.image, 2));
      const [a, b] = [cut(r1.image, 0), cut(r2.image, 0)];
      const d = a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
      expect(d).toBeGreaterThan(0.01);
    } finally {
      r1.dispose();
      r2.dispose();
    }
  });

  it('frees every tensor, also when aborted, and rejects bad input with CnnvizError', async () => {
    const before = tf.memory().numTensors;
    const pad = (v: Float32Array) => Float32Array.from([...v, 0, 0, 0, 0, 0, 0]);
    const ac = new AbortController();
    const run = activationAtlas(model, {
      layer: 'relu1',
      activations: acts.map(pad),
      coords,
      grid: 2,
      size: 8,
      steps: 50,
      signal: ac.signal,
      onProgress: (s) => {
        if (s.step === 2) ac.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    expect(tf.memory().numTensors).toBe(before);
    await expect(
      activationAtlas(model, { layer: 'relu1', activations: acts.map(pad), coords: coords.slice(1) }),
    ).rejects.toBeInstanceOf(CnnvizError);
    await expect(
      activationAtlas(model, { layer: 'nope', activations: acts.map(pad), coords }),
    ).rejects.toMatchObject({ code: 'UNKNOWN_LAYER' });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('sampleActivations', () => {
  it('returns the feature map at the sampled (image, y, x), distinct positions, no leaks', async () => {
    const images = [testImage(16, 16, 3, 1), testImage(16, 16, 3, 2), testImage(16, 16, 3, 5)];
    const before = tf.memory().numTensors;
    const s = await sampleActivations(model, images, { layer: 'relu2', perImage: 5, seed: 7, batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    expect(s.activations.length).toBe(15);
    expect(s.featureSize).toEqual([8, 8]);
    expect(s.inputSize).toEqual([16, 16]);
    const fmap = tf.tidy(
      () => model.forward(model.preprocess(tf.stack(images) as tf.Tensor4D), ['relu2']).activations.relu2,
    );
    const data = await fmap.data();
    fmap.dispose();
    for (let i = 0; i < 15; i++) {
      const off = ((s.image[i] * 8 + s.y[i]) * 8 + s.x[i]) * 16;
      expect(Array.from(s.activations[i])).toEqual(Array.from(data.slice(off, off + 16)));
    }
    for (let im = 0; im < 3; im++) {
      const pos = new Set(
        [...s.image.keys()].filter((i) => s.image[i] === im).map((i) => s.y[i] * 8 + s.x[i]),
      );
      expect(pos.size).toBe(5);
    }
    tf.dispose(images);
  });
});
