import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  checkAborted,
  checkNumber,
  type ForwardResult,
  type Objective,
  type Step,
  type VisionModel,
} from '@cnnviz/core';
import { checkLayers, evaluateObjective, inputChannels } from './model-utils.js';
import { render } from './render.js';
import type { Transform } from './transforms/random.js';

export interface ActivationAtlasOptions {
  /** Spatial layer the activations come from (e.g. from `sampleActivations`). */
  layer: string;
  /** Activation vectors, one per sample: a list of length-C arrays or `[N, C]`. */
  activations: Float32Array[] | tf.Tensor2D;
  /** The samples' 2-D layout (t-SNE, UMAP, ...): one `[x, y]` per activation. */
  coords: ArrayLike<number>[];
  /** Cells per side. Default 20. */
  grid?: number;
  /** Cells with fewer samples stay empty (white). Default 1. */
  minCount?: number;
  /** Side of each cell's icon in pixels. Default 64 (Lucid: 80). */
  size?: number;
  /** Adam steps per icon. Default 128 (Lucid). */
  steps?: number;
  /** Adam's learning rate. Default 0.05 (Lucid). */
  lr?: number;
  /** Exponent of the cosine-similarity factor of the objective. Default 2 (Lucid). */
  cosinePower?: number;
  /** Where the icon's activation is read: the centre position (Lucid) or the spatial mean. Default 'centre'. */
  position?: 'centre' | 'mean';
  /** Cells optimised together in one batch; default all of them. Smaller batches bound memory. */
  batchSize?: number;
  /** Random transforms (see `visualizeUnit`). Default 'standard'. */
  transforms?: Transform[] | 'standard' | 'none';
  /** Seed of the parameterisation and transforms. Default 0. */
  seed?: number;
  /** Example sample indices kept per cell. Default 8. */
  examples?: number;
  signal?: AbortSignal;
  /** After every optimisation step; `step` counts over all batches. */
  onProgress?: (step: Step) => void;
}

export interface AtlasCell {
  row: number;
  col: number;
  /** Samples that fell in the cell. */
  count: number;
  /** Their mean activation vector, the direction the icon was optimised for. */
  mean: Float32Array;
  /** Indices (into `activations`) of up to `examples` samples of the cell, nearest the mean first. */
  examples: number[];
  /** The objective's value on the final icon (higher is better). */
  score: number;
}

export interface ActivationAtlasResult {
  /** The atlas, `[grid*size, grid*size, C]`, pixels 0..1; empty cells white. */
  image: tf.Tensor3D;
  grid: number;
  size: number;
  /** The non-empty cells, row-major. */
  cells: AtlasCell[];
  dispose(): void;
}

/** Bins `coords` (scaled to the unit square per axis) into `grid` x `grid` cells: cell index per sample. */
function binLayout(coords: ArrayLike<number>[], grid: number): Int32Array {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const c of coords) {
    x0 = Math.min(x0, c[0]);
    x1 = Math.max(x1, c[0]);
    y0 = Math.min(y0, c[1]);
    y1 = Math.max(y1, c[1]);
  }
  const bin = (v: number, lo: number, hi: number) =>
    hi > lo ? Math.min(grid - 1, Math.floor(((v - lo) / (hi - lo)) * grid)) : 0;
  return Int32Array.from(coords, (c) => bin(c[1], y0, y1) * grid + bin(c[0], x0, x1));
}

/**
 * Lucid's atlas objective per batch item i: `dot * max(0.1, cos)^p`, with `dot` the mean over
 * channels of activation times direction and `cos` their cosine similarity. The cosine factor
 * keeps the icon pointing along the direction rather than merely far out on it. Lucid divides by
 * the activation's norm only; the true cosine makes `p` independent of the directions' scale.
 */
function atlasObjective(
  layer: string,
  dirs: tf.Tensor2D,
  power: number,
  position: 'centre' | 'mean',
): Objective {
  return {
    taps: [layer],
    name: `atlas(${layer})`,
    needsLogits: false,
    evaluate: (out: ForwardResult) =>
      tf.tidy(() => {
        const a = out.activations[layer] as tf.Tensor4D;
        const [n, h, w, c] = a.shape;
        const v =
          position === 'mean'
            ? tf.mean(a, [1, 2])
            : tf.reshape(tf.slice(a, [0, Math.floor(h / 2), Math.floor(w / 2), 0], [n, 1, 1, c]), [n, c]);
        const dot = tf.sum(tf.mul(v, dirs), 1);
        const norms = tf.mul(tf.norm(v, 'euclidean', 1), tf.norm(dirs, 'euclidean', 1));
        const cos = tf.maximum(tf.div(dot, tf.add(norms, 1e-4)), 0.1);
        return tf.mul(tf.div(dot, c), tf.pow(cos, power)) as tf.Tensor1D;
      }),
  };
}

/** Squared distance of two vectors. */
function dist2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s;
}

/**
 * Activation Atlas (Carter et al. 2019, Distill; Lucid's `activation_atlas` recipe): bins a 2-D
 * layout of many activation vectors into a grid, averages the vectors of each cell, and renders
 * one feature visualisation per non-empty cell, all cells optimised together as one batch with
 * Lucid's decorrelated Fourier parameterisation and transforms. Dispose the result.
 */
export async function activationAtlas(
  model: VisionModel,
  options: ActivationAtlasOptions,
): Promise<ActivationAtlasResult> {
  check(
    options !== null && typeof options === 'object',
    'BAD_OPTION',
    'options must be an object { layer, activations, coords }',
  );
  checkLayers(model, [options.layer], 'layer');
  const grid = options.grid ?? 20;
  checkNumber(grid, 'grid', { min: 1, max: 256, integer: true });
  const minCount = options.minCount ?? 1;
  checkNumber(minCount, 'minCount', { min: 1, integer: true });
  const size = options.size ?? 64;
  checkNumber(size, 'size', { min: 1, integer: true });
  const power = options.cosinePower ?? 2;
  checkNumber(power, 'cosinePower', { min: 0 });
  const nExamples = options.examples ?? 8;
  checkNumber(nExamples, 'examples', { min: 0, integer: true });
  const position = options.position ?? 'centre';
  check(
    position === 'centre' || position === 'mean',
    'BAD_OPTION',
    `position must be 'centre' or 'mean', got ${String(position)}`,
  );
  const { activations, coords } = options;
  let vectors: Float32Array[];
  if (activations instanceof tf.Tensor) {
    check(activations.rank === 2, 'BAD_OPTION', 'activations must be [N, C] or a list of vectors');
    const flat = activations.dataSync() as Float32Array;
    const [n, c] = activations.shape;
    vectors = Array.from({ length: n }, (_, i) => flat.subarray(i * c, (i + 1) * c));
  } else {
    check(
      Array.isArray(activations) && activations.length > 0,
      'BAD_OPTION',
      'activations must be a non-empty list',
    );
    vectors = activations;
  }
  const n = vectors.length;
  const c = vectors[0]?.length ?? 0;
  check(n > 0 && c > 0, 'BAD_OPTION', 'activations must hold at least one non-empty vector');
  check(
    vectors.every((v) => v.length === c),
    'BAD_OPTION',
    `every activation vector must have ${c} channels`,
  );
  check(
    Array.isArray(coords) && coords.length === n,
    'BAD_OPTION',
    () =>
      `coords must hold one [x, y] per activation (${n}), got ${Array.isArray(coords) ? coords.length : typeof coords}`,
  );
  check(
    coords.every((p) => p && p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1])),
    'BAD_OPTION',
    'coords must be finite [x, y] pairs',
  );

  const cellOf = binLayout(coords, grid);
  const members: number[][] = Array.from({ length: grid * grid }, () => []);
  for (let i = 0; i < n; i++) members[cellOf[i]].push(i);
  const cells: AtlasCell[] = [];
  for (let k = 0; k < grid * grid; k++) {
    const idx = members[k];
    if (idx.length < minCount) continue;
    const mean = new Float32Array(c);
    for (const i of idx) for (let j = 0; j < c; j++) mean[j] += vectors[i][j];
    for (let j = 0; j < c; j++) mean[j] /= idx.length;
    const examples = idx
      .map((i) => ({ i, d: dist2(vectors[i], mean) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, nExamples)
      .map((e) => e.i);
    cells.push({ row: Math.floor(k / grid), col: k % grid, count: idx.length, mean, examples, score: 0 });
  }
  check(
    cells.length > 0,
    'BAD_OPTION',
    `no cell holds minCount (${minCount}) samples; lower minCount or grid`,
  );

  const batchSize = options.batchSize ?? cells.length;
  checkNumber(batchSize, 'batchSize', { min: 1, integer: true });
  const steps = options.steps ?? 128;
  checkNumber(steps, 'steps', { min: 1, integer: true });
  const channels = inputChannels(model);
  const batches = Math.ceil(cells.length / batchSize);
  const icons: tf.Tensor3D[] = [];
  try {
    for (let b = 0; b < batches; b++) {
      checkAborted(options.signal, 'activationAtlas');
      const part = cells.slice(b * batchSize, (b + 1) * batchSize);
      const dirs = tf.tensor2d(
        part.flatMap((cell) => Array.from(cell.mean)),
        [part.length, c],
      );
      try {
        const objective = atlasObjective(options.layer, dirs, power, position);
        let last: tf.Tensor3D | undefined;
        for await (const step of render(
          model,
          objective,
          {
            param: 'fourier',
            batch: part.length,
            size,
            steps,
            lr: options.lr,
            transforms: options.transforms ?? 'standard',
            seed: (options.seed ?? 0) + b,
            signal: options.signal,
            onProgress: options.onProgress
              ? (s) => options.onProgress!({ step: b * steps + s.step, steps: batches * steps, loss: s.loss })
              : undefined,
          },
          'fourier',
        )) {
          if (step.image) {
            last?.dispose();
            last = step.image;
          }
        }
        // The batch comes side by side, [size, k*size, C].
        const split = tf.split(last!, part.length, 1) as tf.Tensor3D[];
        last!.dispose();
        icons.push(...split);
        // Score each icon without transforms, so callers can spot failed cells.
        const scores = tf.tidy(() => {
          return evaluateObjective(model, tf.stack(split) as tf.Tensor4D, objective).values;
        });
        const s = await scores.data();
        scores.dispose();
        part.forEach((cell, i) => (cell.score = s[i]));
      } finally {
        dirs.dispose();
      }
    }
    const image = tf.tidy(() => {
      const white = tf.ones([size, size, channels]);
      const rows: tf.Tensor[] = [];
      let next = 0;
      for (let r = 0; r < grid; r++) {
        const row: tf.Tensor[] = [];
        for (let col = 0; col < grid; col++) {
          const cell = cells[next];
          if (cell && cell.row === r && cell.col === col) row.push(icons[next++]);
          else row.push(white);
        }
        rows.push(tf.concat(row, 1));
      }
      return tf.concat(rows, 0) as tf.Tensor3D;
    });
    return { image, grid, size, cells, dispose: () => image.dispose() };
  } finally {
    for (const t of icons) t.dispose();
  }
}
