import { statSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { applyColormap, tileGrid, type ColormapName } from '@cnnviz/core';
import type { BackendInfo } from '../backend.js';
import { checkImageFile } from '../image-io.js';
import type { ParsedArgs } from './args.js';
import type { CommandResult, Ctx } from './command.js';
import { resolveInputs, type ImageInput } from './inputs.js';
import { bundledImageNames, loadModelRef, parseModelRef, type LoadedModel } from './model-arg.js';
import { outputPaths } from './output.js';
import { loadImage, resolveTarget, save, since, startBackend, type ResolvedTarget } from './session.js';

const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

/** A model and its input images, all read and checked before any technique runs. */
export interface Prepared {
  lm: LoadedModel;
  backend: BackendInfo;
  inputs: ImageInput[];
  images: tf.Tensor3D[];
  /** One output path per input (empty when the command names its own outputs). */
  outputs: string[];
  dispose(): void;
}

/**
 * The common start of image subcommands, cheapest checks first so a mistake is reported before
 * TF.js spends seconds loading: model name, image paths, output directory, then backend, model
 * and every image (a bad image fails the run before any output is written).
 */
export async function prepare(args: ParsedArgs, ctx: Ctx, suffix: string | undefined): Promise<Prepared> {
  const v = args.values;
  const ref = parseModelRef(String(v.model));
  // Image headers first: a bomb is refused before the model package, the backend or the model load.
  const checked = new Set<string>();
  for (const p of args.positionals) {
    if (isFile(p)) {
      await checkImageFile(p, ctx.maxPixels);
      checked.add(p);
    }
  }
  const inputs = resolveInputs(args.positionals, await bundledImageNames());
  for (const input of inputs)
    if (input.path && !checked.has(input.path)) await checkImageFile(input.path, ctx.maxPixels);
  const outputs =
    suffix === undefined
      ? []
      : outputPaths(
          inputs.map((i) => i.name),
          v.output as string | undefined,
          suffix,
        );
  const backend = await startBackend(ctx, v.backend);
  const lm = await loadModelRef(ref, v.size as number | undefined);
  const images: tf.Tensor3D[] = [];
  try {
    for (const input of inputs) images.push(await loadImage(input, lm, ctx));
  } catch (e) {
    images.forEach((t) => t.dispose());
    throw e;
  }
  return {
    lm,
    backend,
    inputs,
    images,
    outputs,
    dispose: () => images.forEach((t) => t.dispose()),
  };
}

/** Integer enlargement so the smaller side reaches `min` px (small models such as fashion-cnn are 28 px). */
export function autoScale(h: number, w: number, scale: unknown, min = 224): number {
  if (typeof scale === 'number') return scale;
  return Math.max(1, Math.ceil(min / Math.min(h, w)));
}

/** Nearest-neighbour enlargement, so pixels stay crisp. */
export function enlarge(img: tf.Tensor3D, factor: number): tf.Tensor3D {
  if (factor === 1) return img.clone();
  const [h, w] = img.shape;
  return tf.tidy(() => tf.image.resizeNearestNeighbor(img, [h * factor, w * factor]));
}

export type View = 'heatmap' | 'overlay' | 'side';

/** Image and attribution map as the picture the user asked for; the map is resized to the image. */
export function renderMap(
  image: tf.Tensor3D,
  map: tf.Tensor2D,
  signed: boolean,
  view: View,
  colormap: ColormapName | undefined,
  alpha: number,
): tf.Tensor3D {
  return tf.tidy(() => {
    const [h, w] = image.shape;
    const sized =
      map.shape[0] === h && map.shape[1] === w
        ? map
        : (tf.squeeze(
            tf.image.resizeBilinear(tf.expandDims(map, 2) as tf.Tensor3D, [h, w], false, true),
            [2],
          ) as tf.Tensor2D);
    const cm: ColormapName = colormap ?? (signed ? 'rdbu' : view === 'heatmap' ? 'inferno' : 'jet');
    const heat = applyColormap(sized, cm, { signed });
    if (view === 'heatmap') return heat;
    const base = image.shape[2] === 1 ? tf.tile(image, [1, 1, 3]) : image;
    const over = tf.add(tf.mul(tf.clipByValue(base, 0, 1), 1 - alpha), tf.mul(heat, alpha)) as tf.Tensor3D;
    if (view === 'overlay') return over;
    return tileGrid([base as tf.Tensor3D, heat, over], { cols: 3, pad: 2 });
  });
}

/** One explained image: its map and anything technique-specific for --json. */
export interface Explained {
  map: tf.Tensor2D;
  signed: boolean;
  /** A picture to save instead of the rendered map (guided backprop's gradient image). */
  picture?: tf.Tensor3D;
  extra?: Record<string, unknown>;
  dispose(): void;
}

export interface AttributionRun {
  /** Output file suffix and progress label. */
  suffix: string;
  defaultView: View;
  /** The layer a label-less model's default target is taken from. */
  fallbackLayer?(lm: LoadedModel): string | undefined;
  /** Skips target resolution (filters, patches). */
  noTarget?: boolean;
  explain(
    lm: LoadedModel,
    image: tf.Tensor3D,
    target: ResolvedTarget,
    hooks: { signal: AbortSignal; onProgress(p: { done: number; total: number }): void },
  ): Promise<Explained>;
}

/**
 * The body of every attribution subcommand: explain each input image, render the map as asked
 * (`--view`, `--colormap`, `--scale`), write one PNG per image, and report per image.
 */
export async function runAttribution(
  args: ParsedArgs,
  ctx: Ctx,
  how: AttributionRun,
): Promise<CommandResult> {
  const v = args.values;
  const p = await prepare(args, ctx, how.suffix);
  const results: Record<string, unknown>[] = [];
  const lines: string[] = [];
  try {
    for (let i = 0; i < p.inputs.length; i++) {
      const image = p.images[i];
      const start = performance.now();
      const target = await resolveTarget(p.lm, image, v, how.fallbackLayer?.(p.lm));
      const bar = ctx.bar(`${how.suffix}${p.inputs.length > 1 ? ` ${i + 1}/${p.inputs.length}` : ''}`);
      let explained: Explained;
      try {
        explained = await how.explain(p.lm, image, target, {
          signal: ctx.signal,
          onProgress: ({ done, total }) => bar.update(done, total),
        });
      } finally {
        bar.done();
      }
      try {
        const view = (v.view as View | undefined) ?? how.defaultView;
        const factor = autoScale(image.shape[0], image.shape[1], v.scale);
        const picture =
          explained.picture ??
          renderMap(
            image,
            explained.map,
            explained.signed,
            view,
            v.colormap as ColormapName | undefined,
            0.5,
          );
        const big = enlarge(picture, factor);
        if (picture !== explained.picture) picture.dispose();
        try {
          await save(ctx, p.outputs[i], big);
        } finally {
          big.dispose();
        }
        const ms = since(start);
        results.push({
          input: p.inputs[i].name,
          output: p.outputs[i],
          target: target.description,
          ms,
          ...explained.extra,
        });
        lines.push(`${p.outputs[i]}  (${p.inputs[i].name}: ${target.description}; ${ms} ms)`);
      } finally {
        explained.dispose();
      }
    }
  } finally {
    p.dispose();
  }
  return {
    lines,
    json: { command: ctx.command, model: p.lm.ref.name, backend: p.backend.name, results },
  };
}

/**
 * Drives an iterative technique to the end (progress bar, Ctrl-C) and writes its last image,
 * enlarged by `--scale` (default: to 224 px for small models). Returns the time taken.
 */
export async function synthesize(
  ctx: Ctx,
  label: string,
  steps: AsyncIterable<import('@cnnviz/core').Step>,
  out: string,
  scale: unknown,
): Promise<{ ms: number; loss: number; size: [number, number] }> {
  const { drive } = await import('./session.js');
  const start = performance.now();
  const last = await drive(ctx, label, steps);
  const image = last.image!;
  try {
    const big = enlarge(image, autoScale(image.shape[0], image.shape[1], scale));
    try {
      await save(ctx, out, big);
    } finally {
      big.dispose();
    }
    return { ms: since(start), loss: last.loss, size: [image.shape[0], image.shape[1]] };
  } finally {
    image.dispose();
  }
}

/**
 * The first `limit` bundled Fashion-MNIST test images as the model wants them (tiled to 3
 * channels and resized for a colour or larger model), with their labels and class names.
 */
export async function fashionBatch(
  lm: LoadedModel,
  limit?: number,
): Promise<{ batch: tf.Tensor4D; labels: number[]; classNames: string[] }> {
  const { datasets } = await import('@cnnviz/models');
  const data = await datasets.fashionMnistTest1k();
  const n = Math.min(limit ?? data.images.shape[0], data.images.shape[0]);
  const want = lm.model.inputShape;
  const batch = tf.tidy(() => {
    let b = tf.slice(data.images, [0, 0, 0, 0], [n, -1, -1, -1]) as tf.Tensor4D;
    if (want[2] !== 1 || (want[0] !== null && want[0] !== 28)) {
      if (want[2] === 3) b = tf.tile(b, [1, 1, 1, 3]);
      const size = lm.size ?? want[0] ?? 28;
      b = tf.image.resizeBilinear(b, [size, size], false, true);
    }
    return b;
  });
  const labels = Array.from(data.labels.slice(0, n));
  const classNames = data.classNames;
  data.dispose();
  return { batch, labels, classNames };
}

/**
 * t-SNE of `features` with a progress bar, perplexity capped where the rows are few (it must stay below (n-1)/3).
 */
export async function tsneWithBar(
  ctx: Ctx,
  features: import('@cnnviz/embedding').Matrix,
  opts: { perplexity: number; iterations: number; seed: number },
): Promise<{ points: Float32Array[]; perplexity: number }> {
  const emb = await import('@cnnviz/embedding');
  const n = Array.isArray(features) ? features.length : features.shape[0];
  const perplexity = Math.min(opts.perplexity, Math.max(1, (n - 1) / 3 - 1e-6));
  const bar = ctx.bar('t-SNE');
  const points = await emb
    .tsne(features, {
      perplexity,
      iterations: opts.iterations,
      seed: opts.seed,
      signal: ctx.signal,
      onProgress: (st) =>
        bar.update(st.iteration, st.iterations, st.kl !== undefined ? `KL ${st.kl.toFixed(3)}` : undefined),
    })
    .finally(() => bar.done());
  return { points, perplexity };
}
