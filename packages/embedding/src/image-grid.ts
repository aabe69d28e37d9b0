import type * as tf from '@tensorflow/tfjs-core';
import { check, checkNumber } from '@cnnviz/core';
import { Canvas, fitPoints, type Rgb } from './raster.js';
import { readPoints } from './scatter-plot.js';
import { readThumbnails } from './thumbnails.js';

export interface ImageGridOptions {
  /** Output size in pixels. Default 1024 x 1024. */
  width?: number;
  height?: number;
  /** Side of each (square) thumbnail in pixels. Default 32. */
  thumbSize?: number;
  /**
   * `scatter` (default): each thumbnail centred on its point, later ones on top. `grid`: each
   * point snapped to the nearest free cell of a thumbSize grid (in input order), so no
   * thumbnail hides another: the t-SNE-of-images pictures of the CS231n lecture.
   */
  layout?: 'scatter' | 'grid';
  /** Background colour (RGB 0..1). Default white. */
  background?: Rgb;
}

/**
 * Draws each point as its image: an embedding map of a data set (lecture: "t-SNE of images").
 * Returns an RGB image `[height, width, 3]` in 0..1 (grayscale thumbnails are drawn in gray),
 * which the caller disposes.
 */
export async function imageGrid(
  points: ArrayLike<number>[],
  thumbnails: tf.Tensor3D[] | tf.Tensor4D,
  options: ImageGridOptions = {},
): Promise<tf.Tensor3D> {
  const { width = 1024, height = 1024, thumbSize = 32, layout = 'scatter', background = [1, 1, 1] } = options;
  checkNumber(width, 'width', { integer: true, min: 1, max: 16384 });
  checkNumber(height, 'height', { integer: true, min: 1, max: 16384 });
  checkNumber(thumbSize, 'thumbSize', { integer: true, min: 1, max: Math.min(width, height) });
  check(
    layout === 'scatter' || layout === 'grid',
    'BAD_OPTION',
    `layout must be 'scatter' or 'grid', got ${String(layout)}`,
  );
  const { xs, ys } = readPoints(points);
  const n = xs.length;
  const count = Array.isArray(thumbnails) ? thumbnails.length : thumbnails?.shape?.[0];
  check(count === n, 'BAD_INPUT', `need one thumbnail per point: ${n} points, ${String(count)} thumbnails`);
  const cols = Math.floor(width / thumbSize);
  const rows = Math.floor(height / thumbSize);
  check(
    layout === 'scatter' || cols * rows >= n,
    'BAD_OPTION',
    `a ${width}x${height} grid of ${thumbSize}px cells holds ${cols * rows} thumbnails, got ${n}; enlarge width/height or shrink thumbSize`,
  );
  const { pixels, channels } = await readThumbnails(thumbnails, thumbSize, 'thumbnails');
  const canvas = new Canvas(width, height, background);
  const half = thumbSize / 2;
  const { px, py } = fitPoints(xs, ys, {
    x: half,
    y: half,
    width: width - thumbSize,
    height: height - thumbSize,
  });

  if (layout === 'scatter') {
    for (let i = 0; i < n; i++) {
      canvas.blit(
        pixels[i],
        thumbSize,
        thumbSize,
        channels,
        Math.round(px[i] - half),
        Math.round(py[i] - half),
      );
    }
  } else {
    const taken = new Uint8Array(cols * rows);
    for (let i = 0; i < n; i++) {
      const cx = Math.min(cols - 1, Math.max(0, Math.floor((px[i] / width) * cols)));
      const cy = Math.min(rows - 1, Math.max(0, Math.floor((py[i] / height) * rows)));
      const cell = nearestFree(taken, cols, rows, cx, cy);
      taken[cell] = 1;
      const gx = (cell % cols) * thumbSize + Math.floor((width - cols * thumbSize) / 2);
      const gy = Math.floor(cell / cols) * thumbSize + Math.floor((height - rows * thumbSize) / 2);
      canvas.blit(pixels[i], thumbSize, thumbSize, channels, gx, gy);
    }
  }
  return canvas.toTensor();
}

/** The free cell nearest to (cx, cy) in rings of growing Chebyshev radius, then by distance. */
function nearestFree(taken: Uint8Array, cols: number, rows: number, cx: number, cy: number): number {
  if (!taken[cy * cols + cx]) return cy * cols + cx;
  for (let r = 1; r < Math.max(cols, rows); r++) {
    let best = -1;
    let bestD = Infinity;
    for (let y = cy - r; y <= cy + r; y++) {
      if (y < 0 || y >= rows) continue;
      for (let x = cx - r; x <= cx + r; x++) {
        if (x < 0 || x >= cols) continue;
        if (Math.max(Math.abs(x - cx), Math.abs(y - cy)) !== r) continue;
        const c = y * cols + x;
        if (taken[c]) continue;
        const d = (x - cx) ** 2 + (y - cy) ** 2;
        if (d < bestD) {
          bestD = d;
          best = c;
        }
      }
    }
    if (best >= 0) return best;
  }
  return taken.indexOf(0);
}
