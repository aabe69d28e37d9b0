import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  CnnvizError,
  channel,
  checkAborted,
  checkLayer,
  parseObjective,
  resize,
  type Objective,
  type Step,
  type VisionModel,
} from '@cnnviz/core';
import { initBackend, type BackendInfo } from '../backend.js';
import { readImage, writePng } from '../image-io.js';
import type { OptionValue } from './args.js';
import type { Ctx } from './command.js';
import type { ImageInput } from './inputs.js';
import type { LoadedModel } from './model-arg.js';
import { ensureDir } from './output.js';

let started: { request: string; info: BackendInfo } | undefined;

/** Starts the fastest working backend (or `--backend`) once per process, telling the user which one. */
export async function startBackend(ctx: Ctx, backend: OptionValue): Promise<BackendInfo> {
  const request = typeof backend === 'string' ? backend : '';
  if (started?.request === request) return started.info;
  const info = await initBackend(request ? { backend: request } : {});
  started = { request, info };
  ctx.note(`backend: ${info.name}${info.adapter ? ` (${info.adapter.description ?? 'gpu'})` : ''}`);
  return info;
}

/** Converts between 1 and 3 channels: grey is tiled, RGB becomes luma (ITU-R 601, as PIL's 'L'). */
export function toChannels(img: tf.Tensor3D, c: number): tf.Tensor3D {
  const have = img.shape[2];
  if (have === c) return img;
  return tf.tidy(() => {
    if (c === 3 && have === 1) return tf.tile(img, [1, 1, 3]);
    if (c === 1 && have >= 3) {
      const rgb = tf.slice(img, [0, 0, 0], [-1, -1, 3]);
      return tf.sum(tf.mul(rgb, tf.tensor1d([0.299, 0.587, 0.114])), 2, true) as tf.Tensor3D;
    }
    throw new CnnvizError('BAD_IMAGE', `cannot convert an image with ${have} channels to ${c}`);
  });
}

/** The largest centred crop of `img` with the aspect ratio `th : tw` (no distortion when resized). */
function centreCrop(img: tf.Tensor3D, th: number, tw: number): tf.Tensor3D {
  const [h, w] = img.shape;
  const scale = Math.min(h / th, w / tw);
  const ch = Math.min(h, Math.round(th * scale));
  const cw = Math.min(w, Math.round(tw * scale));
  if (ch === h && cw === w) return img;
  return tf.slice(img, [Math.floor((h - ch) / 2), Math.floor((w - cw) / 2), 0], [ch, cw, -1]);
}

/**
 * Reads an input image as the model wants it: its channel count and its input size (`--size`
 * for models that take any size). The largest centred crop with the model's aspect ratio is
 * resized, so pictures are never squashed.
 */
export async function loadImage(
  input: ImageInput,
  lm: LoadedModel,
  limits: { maxPixels?: number } = {},
): Promise<tf.Tensor3D> {
  const c = lm.model.inputShape[2];
  const [h, w] = lm.model.inputShape;
  const target: [number, number] = h !== null && w !== null ? [h, w] : [lm.size ?? 224, lm.size ?? 224];
  let img: tf.Tensor3D;
  if (input.path) {
    // Shrunk while decoding (box filter, integer factor), so a large photo never exists at full size.
    img = await readImage(input.path, {
      channels: c === 1 ? 1 : 3,
      maxPixels: limits.maxPixels,
      shrinkTo: target,
    });
  } else {
    const models = await import('@cnnviz/models');
    img = (await models.images.load(input.bundled!)) as tf.Tensor3D;
  }
  return tf.tidy(() => {
    const src = centreCrop(toChannels(img, c), target[0], target[1]);
    const out = src.shape[0] === target[0] && src.shape[1] === target[1] ? src.clone() : resize(src, target);
    img.dispose();
    return out;
  });
}

/** Top-k classes of one image: index, label and softmax probability. */
export interface Prediction {
  index: number;
  label?: string;
  prob: number;
  logit: number;
}

export async function predict(
  model: VisionModel,
  image: tf.Tensor3D,
  labels?: string[],
  k = 3,
): Promise<Prediction[]> {
  const logits = tf.tidy(() => tf.squeeze(model.forward(model.preprocess(image)).logits, [0]) as tf.Tensor1D);
  const probs = tf.tidy(() => tf.softmax(logits));
  const [l, p] = [await logits.data(), await probs.data()];
  logits.dispose();
  probs.dispose();
  return [...p.keys()]
    .sort((a, b) => p[b] - p[a])
    .slice(0, k)
    .map((i) => ({
      index: i,
      prob: p[i],
      logit: l[i],
      ...(labels?.[i] !== undefined ? { label: labels[i] } : {}),
    }));
}

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * A class given as an index or a label (case and punctuation ignored: `t-shirt` finds
 * `T-shirt/top`, `ankle boot` finds `Ankle boot`). BAD_TARGET lists the classes otherwise.
 */
export function classIndex(value: string, labels: string[] | undefined, classes: number): number {
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const k = Number(text);
    if (k < classes) return k;
    throw new CnnvizError(
      'BAD_TARGET',
      `unknown class ${k}: the model has ${classes} classes (0..${classes - 1})`,
    );
  }
  if (labels) {
    const n = norm(text);
    const exact = labels.findIndex((l) => norm(l) === n);
    if (exact >= 0) return exact;
    const partial = labels
      .map((l, i) => [norm(l), i] as const)
      .filter(([l]) => n.length > 2 && l.startsWith(n));
    if (partial.length === 1) return partial[0][1];
    const shown =
      labels.length <= 20 ? labels.map((l, i) => `${i} ${l}`).join(', ') : `${labels.length} labels`;
    throw new CnnvizError('BAD_TARGET', `unknown class "${text}"; classes: ${shown}`);
  }
  throw new CnnvizError(
    'BAD_TARGET',
    `unknown class "${text}": the model has no labels, pass a class index 0..${classes - 1}`,
  );
}

/** What an attribution explains, and in words for captions and --json. */
export interface ResolvedTarget {
  target?: number;
  objective?: Objective;
  description: string;
}

/** Number of logits the model gives for `image`. */
export function logitCount(model: VisionModel, image: tf.Tensor3D): number {
  return tf.tidy(() => model.forward(model.preprocess(image)).logits.shape[1]);
}

/**
 * `--objective layer:unit` wins; then `--target` (index or label); else the predicted class of a
 * classifier, or, for a feature extractor (no labels), the most active channel of `layer`.
 */
export async function resolveTarget(
  lm: LoadedModel,
  image: tf.Tensor3D,
  values: Record<string, OptionValue>,
  fallbackLayer?: string,
): Promise<ResolvedTarget> {
  if (typeof values.objective === 'string') {
    const objective = parseObjective(values.objective);
    const names = lm.model.layers.map((l) => l.name);
    for (const tap of objective.taps) checkLayer(tap, names);
    return { objective, description: `objective ${objective.name}` };
  }
  const classes = logitCount(lm.model, image);
  if (typeof values.target === 'string') {
    const k = classIndex(values.target, lm.labels, classes);
    return { target: k, description: `class ${k}${lm.labels?.[k] ? ` (${lm.labels[k]})` : ''}` };
  }
  if (lm.labels) {
    const [top] = await predict(lm.model, image, lm.labels, 1);
    return {
      target: top.index,
      description: `class ${top.index} (${top.label ?? '?'}, predicted, p=${top.prob.toFixed(2)})`,
    };
  }
  const layer = fallbackLayer ?? lastSpatialLayer(lm.model);
  if (!layer) {
    throw new CnnvizError(
      'BAD_TARGET',
      'the model has no labels and no spatial layer; pass --target <class index> or --objective <layer>:<channel>',
    );
  }
  const c = await topChannel(lm.model, image, layer);
  return {
    objective: channel(layer, c),
    description: `channel ${c} of ${layer} (most active; the model has no classes)`,
  };
}

export function lastSpatialLayer(model: VisionModel): string | undefined {
  for (let i = model.layers.length - 1; i >= 0; i--)
    if (model.layers[i].outputShape.length === 3) return model.layers[i].name;
  return undefined;
}

/** The channel of `layer` with the largest mean activation on `image`. */
export async function topChannel(model: VisionModel, image: tf.Tensor3D, layer: string): Promise<number> {
  const idx = tf.tidy(() => {
    const act = model.forward(model.preprocess(image), [layer], { logits: false }).activations[layer];
    if (!act) throw new CnnvizError('UNKNOWN_LAYER', `layer "${layer}" gave no activation`);
    const axes = act.shape.slice(0, -1).map((_, i) => i);
    return tf.argMax(tf.mean(act, axes));
  });
  const [c] = await idx.data();
  idx.dispose();
  return c;
}

/** Writes `image` as a PNG (atomically), unless the run was interrupted; remembers the path. */
export async function save(ctx: Ctx, path: string, image: tf.Tensor2D | tf.Tensor3D): Promise<void> {
  checkAborted(ctx.signal, ctx.command);
  await ensureDir(dirname(path));
  await writePng(path, image);
  ctx.written.push(path);
}

/**
 * Drives an iterative technique (an async iterator of steps) to its end with a progress bar,
 * freeing the intermediate images; returns the last step, whose image the caller owns.
 */
export async function drive(ctx: Ctx, label: string, steps: AsyncIterable<Step>): Promise<Step> {
  const bar = ctx.bar(label);
  let last: Step | undefined;
  try {
    for await (const s of steps) {
      if (last?.image && last.image !== s.image) last.image.dispose();
      last = s;
      bar.update(s.step, s.steps, Number.isFinite(s.loss) ? `loss ${s.loss.toPrecision(4)}` : undefined);
    }
  } catch (e) {
    last?.image?.dispose();
    throw e;
  } finally {
    bar.done();
  }
  if (!last) throw new CnnvizError('BAD_OPTION', `${label}: the technique ran no steps`);
  if (!last.image) throw new CnnvizError('UNSUPPORTED_OP', `${label}: the last step carried no image`);
  return last;
}

/** Milliseconds since `start`, rounded. */
export const since = (start: number) => Math.round(performance.now() - start);
