import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { resize, type VisionModel } from '@cnnviz/core';
import { images as bundled, zoo } from '@cnnviz/models';
import { writePng } from '@cnnviz/node';
import { progress, type Progress } from './progress.js';

export type Quality = 'default' | 'high';

/** The lecture's two parts; every technique belongs to one. */
export const GROUPS = [
  { id: 'activations', title: 'Looking at activations' },
  { id: 'gradients', title: 'Looking at gradients' },
] as const;
export type GroupId = (typeof GROUPS)[number]['id'];

/** One picture in the report, with what produced it. */
export interface Figure {
  title: string;
  /** Path relative to the report's folder. */
  file: string;
  model: string;
  layer?: string;
  /** Settings in words: "target Sneaker, 25 samples, σ 0.15". */
  settings: string;
  /** Time the technique itself took for this picture. */
  ms: number;
  /** What to look for. */
  note?: string;
  /** How to make it again: `cnnviz` command lines (one per line) or the API call. */
  command?: string;
}

/** A section of the report: one technique of the lecture (or an addition). */
export interface Technique {
  id: string;
  group: GroupId;
  /** Number in seed-lecture-notes.md, or undefined for additions (SmoothGrad, IG, Grad-CAM). */
  lecture?: number;
  title: string;
  /** One sentence: what it shows. */
  blurb: string;
  run(g: Gallery, bar: Progress): Promise<Figure[]>;
}

export interface TechniqueOutcome {
  technique: Technique;
  figures: Figure[];
  ms: number;
  error?: string;
}

/** Shared state of a gallery run: output folder, quality, models and images loaded once. */
export class Gallery {
  private models = new Map<string, Promise<VisionModel>>();
  private pictures = new Map<string, tf.Tensor3D>();
  readonly outDir: string;

  constructor(
    outDir: string,
    readonly quality: Quality,
    readonly showProgress = true,
  ) {
    this.outDir = outDir;
    mkdirSync(outDir, { recursive: true });
  }

  /** The default-quality or the high-quality value of a setting. */
  q<T>(fast: T, high: T): T {
    return this.quality === 'high' ? high : fast;
  }

  private cached(key: string, load: () => Promise<VisionModel>): Promise<VisionModel> {
    let m = this.models.get(key);
    if (!m) this.models.set(key, (m = load()));
    return m;
  }

  fashion(): Promise<VisionModel> {
    return this.cached('fashion', () => zoo.fashionCnn());
  }

  mobilenet(size: number): Promise<VisionModel> {
    return this.cached(`mobilenet-${size}`, () => zoo.mobilenetV2Features({ inputSize: size }));
  }

  inception(size = 299): Promise<VisionModel> {
    return this.cached(`inception-${size}`, () => zoo.inceptionV3Features({ inputSize: size }));
  }

  /**
   * A bundled image as `[size,size,C]`: the centred square, resized; `channels` 1 gives luma.
   * Cached; the gallery owns it (do not dispose).
   */
  async image(name: string, size?: number, channels: 1 | 3 = 3): Promise<tf.Tensor3D> {
    const key = `${name}@${size ?? 'full'}@${channels}`;
    const hit = this.pictures.get(key);
    if (hit) return hit;
    const raw = (await bundled.load(name)) as tf.Tensor3D;
    const out = tf.tidy(() => {
      let img: tf.Tensor3D = raw;
      if (img.shape[2] === 1 && channels === 3) img = tf.tile(img, [1, 1, 3]);
      if (img.shape[2] === 3 && channels === 1)
        img = tf.sum(tf.mul(img, tf.tensor1d([0.299, 0.587, 0.114])), 2, true);
      if (size === undefined) return img.clone();
      const [h, w] = img.shape;
      const s = Math.min(h, w);
      const square = tf.slice(img, [Math.floor((h - s) / 2), Math.floor((w - s) / 2), 0], [s, s, -1]);
      return resize(square, [size, size]);
    });
    raw.dispose();
    this.pictures.set(key, out);
    return out;
  }

  /**
   * Writes `image` (values 0..1) as `<name>.png`, enlarged by whole pixels (nearest neighbour) until
   * its smaller side reaches `minSide`, and returns the file name relative to the report. Takes
   * ownership of `image` (disposes it).
   */
  async save(name: string, image: tf.Tensor3D, minSide = 0): Promise<string> {
    const [h, w] = image.shape;
    const k = minSide > 0 ? Math.max(1, Math.ceil(minSide / Math.min(h, w))) : 1;
    const file = `${name}.png`;
    const big = k === 1 ? image : tf.tidy(() => tf.image.resizeNearestNeighbor(image, [h * k, w * k]));
    try {
      await writePng(join(this.outDir, file), big);
    } finally {
      if (big !== image) big.dispose();
      image.dispose();
    }
    return file;
  }

  progress(label: string): Progress {
    return progress(label, this.showProgress);
  }

  dispose(): void {
    for (const t of this.pictures.values()) t.dispose();
    this.pictures.clear();
  }
}

/** Milliseconds `fn` takes, with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const r = await fn();
  return [r, Math.round(performance.now() - start)];
}

/** "1.2 s" / "850 ms". */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
