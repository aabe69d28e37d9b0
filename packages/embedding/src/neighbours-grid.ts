import * as tf from '@tensorflow/tfjs-core';
import { check, checkImage, checkNumber, CnnvizError } from '@cnnviz/core';
import { Canvas, formatNumber, type Rgb } from './raster.js';
import { readThumbnails } from './thumbnails.js';

export interface NeighboursGridOptions {
  /** Side of each thumbnail in pixels. Default 96. */
  thumbSize?: number;
  /** Gap around and between tiles. Default 6. */
  pad?: number;
  /** Frame colour of the query tile. Default orange. */
  queryColor?: Rgb;
}

/**
 * The lecture's nearest-neighbour figure: a query image (framed) followed by its neighbours,
 * each with its distance drawn as a bar (length relative to the largest distance shown) and as
 * digits. Returns an RGB image `[H, W, 3]` in 0..1, which the caller disposes.
 */
export async function neighboursGrid(
  query: tf.Tensor3D,
  neighbours: tf.Tensor3D[] | tf.Tensor4D,
  distances: ArrayLike<number>,
  options: NeighboursGridOptions = {},
): Promise<tf.Tensor3D> {
  const { thumbSize = 96, pad = 6, queryColor = [1, 0.5, 0.05] } = options;
  checkNumber(thumbSize, 'thumbSize', { integer: true, min: 8, max: 4096 });
  checkNumber(pad, 'pad', { integer: true, min: 2, max: 256 });
  checkImage(query, { batch: false, name: 'query' });
  const k = Array.isArray(neighbours)
    ? neighbours.length
    : neighbours instanceof tf.Tensor
      ? neighbours.shape[0]
      : -1;
  check(k > 0, 'BAD_IMAGE', 'neighbours must be a non-empty array of [H,W,C] images or a batch [N,H,W,C]');
  check(
    distances !== null && typeof distances === 'object' && distances.length === k,
    'BAD_INPUT',
    () => `need one distance per neighbour: ${k} neighbours, ${distances?.length} distances`,
  );
  let maxD = 0;
  for (let i = 0; i < k; i++) {
    const d = distances[i];
    if (!Number.isFinite(d) || d < 0)
      throw new CnnvizError('BAD_INPUT', `distances[${i}] must be a finite number >= 0, got ${String(d)}`);
    maxD = Math.max(maxD, d);
  }
  const q = await readThumbnails([query], thumbSize, 'query');
  const nb = await readThumbnails(neighbours, thumbSize, 'neighbours');

  const scale = thumbSize >= 64 ? 2 : 1;
  const textH = 5 * scale;
  const barH = Math.max(3, Math.round(thumbSize / 24));
  const gap = pad * 2;
  const width = pad + thumbSize + gap + k * (thumbSize + pad);
  const height = pad + thumbSize + pad + barH + 3 + textH + pad;
  const canvas = new Canvas(width, height);
  const frame = Math.max(2, Math.round(pad / 2));
  canvas.fillRect(pad - frame, pad - frame, thumbSize + 2 * frame, thumbSize + 2 * frame, queryColor);
  canvas.blit(q.pixels[0], thumbSize, thumbSize, q.channels, pad, pad);
  for (let i = 0; i < k; i++) {
    const x = pad + thumbSize + gap + i * (thumbSize + pad);
    canvas.blit(nb.pixels[i], thumbSize, thumbSize, nb.channels, x, pad);
    const y = pad + thumbSize + pad;
    canvas.fillRect(x, y, thumbSize, barH, [0.88, 0.88, 0.88]);
    const len = maxD > 0 ? Math.max(1, Math.round((distances[i] / maxD) * thumbSize)) : 0;
    canvas.fillRect(x, y, len, barH, [0.2, 0.35, 0.75]);
    const label = formatNumber(distances[i]);
    canvas.text(label, x, y + barH + 3, [0, 0, 0], Canvas.textWidth(label, scale) > thumbSize ? 1 : scale);
  }
  return canvas.toTensor();
}
