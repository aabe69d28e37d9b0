import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError, check, checkLayer, poolSpatial, resize, type VisionModel } from '@cnnviz/core';
import { gradCam, saliency } from '@cnnviz/attribution';
import { readImage } from '@cnnviz/node';
import type { ImageEntry } from './sources.js';
import type { FeatureRow, TableMeta } from './store.js';

/** A per-image explanation stored next to the features (a model audit in one pass). */
export interface AttributionSpec {
  /** `gradcam`: the Grad-CAM map at `layer`'s resolution; `saliency`: max over channels of |d logit / d x|. */
  method: 'gradcam' | 'saliency';
  /** Grad-CAM's layer; default the last convolution block. */
  layer?: string;
}

/** What one run computes per image; shared by `extractToStore` and the queue's workers. */
export interface RowSpec {
  model: VisionModel;
  /** Recorded in each row and in the table's metadata (a zoo name or a model path). */
  modelName: string;
  /** Feature layer; default the logits. */
  layer?: string;
  /** Spatial activations become one vector by global average (default) or max pooling. */
  pooling?: 'avg' | 'max';
  /** Square input size for models that take any size. Default 224. */
  size?: number;
  attribution?: AttributionSpec;
}

export function checkRowSpec(spec: RowSpec): void {
  check(
    typeof spec.model?.forward === 'function',
    'BAD_OPTION',
    'model must be a VisionModel (@cnnviz/models loadModel or zoo)',
  );
  const names = spec.model.layers.map((l) => l.name);
  if (spec.layer !== undefined) checkLayer(spec.layer, names);
  if (spec.attribution) {
    check(
      spec.attribution.method === 'gradcam' || spec.attribution.method === 'saliency',
      'BAD_OPTION',
      `attribution must be 'gradcam' or 'saliency', got ${String(spec.attribution.method)}`,
    );
    if (spec.attribution.layer !== undefined) checkLayer(spec.attribution.layer, names);
  }
  check(
    spec.pooling === undefined || spec.pooling === 'avg' || spec.pooling === 'max',
    'BAD_OPTION',
    `pooling must be 'avg' or 'max', got ${String(spec.pooling)}`,
  );
}

/** Input size `[h, w]` of the model (any-size models: `size`, default 224). */
export function inputSize(spec: RowSpec): [number, number] {
  const [h, w] = spec.model.inputShape;
  return h !== null && w !== null ? [h, w] : [spec.size ?? 224, spec.size ?? 224];
}

/**
 * Reads and decodes a batch of images into `[N,H,W,C]` at the model's size and channel count; a
 * file that is no image is BAD_IMAGE naming it. Reads are synchronous: decoding is CPU-bound on
 * this thread anyway, and for small images fs.promises.readFile costs more CPU than the decode.
 */
export async function loadBatch(spec: RowSpec, entries: ImageEntry[]): Promise<tf.Tensor4D> {
  const [h, w] = inputSize(spec);
  const channels = spec.model.inputShape[2] === 1 ? 1 : 3;
  const buffers = entries.map((e) => {
    try {
      return readFileSync(e.path);
    } catch (err) {
      throw new CnnvizError('IO', `cannot read ${e.path}: ${(err as Error).message}`, { cause: err });
    }
  });
  const images: tf.Tensor3D[] = [];
  try {
    for (let i = 0; i < buffers.length; i++) {
      let img: tf.Tensor3D;
      try {
        img = await readImage(buffers[i], { channels });
      } catch (err) {
        throw new CnnvizError('BAD_IMAGE', `${entries[i].path}: ${(err as Error).message}`, { cause: err });
      }
      if (img.shape[0] !== h || img.shape[1] !== w) {
        const r = resize(img, [h, w]);
        img.dispose();
        img = r;
      }
      images.push(img);
    }
    return tf.stack(images) as tf.Tensor4D;
  } finally {
    tf.dispose(images);
  }
}

/** Rows of one batch, without ids (the table's writer numbers them), and the table's metadata. */
export interface ComputedBatch {
  rows: Omit<FeatureRow, 'id'>[];
  meta: TableMeta;
}

/**
 * Features (pooled activations of `layer`), predictions and, with `attribution`, one map per image,
 * in one forward pass per batch (plus the attribution's own).
 */
export async function computeRows(
  spec: RowSpec,
  entries: ImageEntry[],
  images: tf.Tensor4D,
): Promise<ComputedBatch> {
  const { model, layer } = spec;
  const [feats, logits] = tf.tidy(() => {
    const out = model.forward(model.preprocess(images), layer === undefined ? [] : [layer], { logits: true });
    const act = layer === undefined ? out.logits : out.activations[layer];
    check(act !== undefined, 'UNKNOWN_LAYER', `the model returned no activation for layer "${layer}"`);
    check(out.logits !== undefined, 'BAD_OPTION', 'the model gave no logits');
    return [poolSpatial(act, spec.pooling ?? 'avg'), out.logits];
  });
  let f: Float32Array, z: Float32Array;
  try {
    [f, z] = (await Promise.all([feats.data(), logits.data()])) as [Float32Array, Float32Array];
  } finally {
    tf.dispose([feats, logits]);
  }
  // Predicted class and its softmax probability, in JS: a few logits per image.
  const k = logits.shape[1];
  const classes = new Int32Array(entries.length);
  const probs = new Float32Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (z[i * k + c] > z[i * k + best]) best = c;
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(z[i * k + c] - z[i * k + best]);
    classes[i] = best;
    probs[i] = 1 / sum;
  }
  const dims = feats.shape[1];
  let maps: Float32Array | undefined;
  let mapShape: number[] | undefined;
  if (spec.attribution) {
    const target = Array.from(classes);
    const res =
      spec.attribution.method === 'gradcam'
        ? await gradCam(model, images, { target, layer: spec.attribution.layer })
        : await saliency(model, images, { target });
    try {
      mapShape = res.map.shape.slice(1);
      maps = (await res.map.data()) as Float32Array;
    } finally {
      res.dispose();
    }
  }
  const time = Date.now();
  const per = mapShape ? mapShape[0] * mapShape[1] : 0;
  const rows = entries.map((e, i) => ({
    path: e.path,
    label: e.label ?? null,
    model: spec.modelName,
    layer: layer ?? 'logits',
    time,
    prediction: classes[i],
    probability: probs[i],
    vector: f.slice(i * dims, (i + 1) * dims),
    ...(maps ? { attribution: maps.slice(i * per, (i + 1) * per) } : {}),
  }));
  const meta: TableMeta = {
    model: spec.modelName,
    layer: layer ?? 'logits',
    dims,
    ...(spec.attribution && mapShape
      ? {
          attribution: {
            method: spec.attribution.method,
            ...(spec.attribution.layer ? { layer: spec.attribution.layer } : {}),
            shape: mapShape,
          },
        }
      : {}),
  };
  return { rows, meta };
}
