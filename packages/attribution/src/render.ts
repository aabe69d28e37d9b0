import * as tf from '@tensorflow/tfjs-core';
import {
  applyColormap,
  check,
  checkImage,
  checkNumber,
  overlayHeatmap,
  type ColormapName,
} from '@cnnviz/core';

/** A result of any technique, or a bare map `[H,W]` / maps `[N,H,W]`. */
export type Renderable = { map: tf.Tensor; signed?: boolean } | tf.Tensor2D | tf.Tensor3D;

export interface HeatmapOptions {
  /** Default 'rdbu' for signed maps (blue < 0 < red, 0 is white), 'inferno' otherwise. */
  colormap?: ColormapName;
  /** Treat the map as signed (0 at the middle colour). Default: the result's own `signed`. */
  signed?: boolean;
  /** Fixed value range `[lo, hi]` so several maps share one scale. */
  range?: [number, number];
  /**
   * Saturate the largest `clipPercentile` % of values (of |v| for signed maps) instead of scaling
   * to the single largest, like Captum's `outlier_perc`; gradient maps often need 1-2. Default 0.
   */
  clipPercentile?: number;
}

/** The colour range that saturates the top `p` % of a map's values (one read of the map). */
function clippedRange(map: tf.Tensor2D, signed: boolean, p: number): [number, number] | undefined {
  const values = Float32Array.from(map.dataSync(), (v) => (signed ? Math.abs(v) : v)).sort();
  const lo = signed ? 0 : values[0];
  const hi = values[Math.min(values.length - 1, Math.floor((values.length - 1) * (1 - p / 100)))];
  if (!(hi > lo)) return undefined;
  return signed ? [-hi, hi] : [lo, hi];
}

function mapOf(result: Renderable): { map: tf.Tensor; signed: boolean } {
  const r = result as { map?: tf.Tensor; signed?: boolean };
  const map = result instanceof tf.Tensor ? result : r.map;
  check(
    map instanceof tf.Tensor && !map.isDisposed && (map.rank === 2 || map.rank === 3),
    'BAD_INPUT',
    'expected an attribution result, or a live map tf.Tensor [H,W] / [N,H,W]',
  );
  return { map, signed: result instanceof tf.Tensor ? false : r.signed === true };
}

/**
 * The map as a colour image: `[H,W,3]` (or `[N,H,W,3]` for batch results), values 0..1. Unsigned
 * maps are min-max scaled; signed maps are divided by max|v| and shown on a diverging colormap.
 */
export function toHeatmap(
  result: { map: tf.Tensor2D; signed?: boolean } | tf.Tensor2D,
  options?: HeatmapOptions,
): tf.Tensor3D;
export function toHeatmap(
  result: { map: tf.Tensor3D; signed?: boolean } | tf.Tensor3D,
  options?: HeatmapOptions,
): tf.Tensor4D;
export function toHeatmap(result: Renderable, options?: HeatmapOptions): tf.Tensor3D | tf.Tensor4D;
export function toHeatmap(result: Renderable, options: HeatmapOptions = {}): tf.Tensor3D | tf.Tensor4D {
  const { map, signed: ownSign } = mapOf(result);
  const signed = options.signed ?? ownSign;
  const colormap = options.colormap ?? (signed ? 'rdbu' : 'inferno');
  const { clipPercentile = 0 } = options;
  checkNumber(clipPercentile, 'clipPercentile', { min: 0, max: 100 });
  const rangeOf = (m: tf.Tensor2D) =>
    options.range ?? (clipPercentile > 0 ? clippedRange(m, signed, clipPercentile) : undefined);
  const one = (m: tf.Tensor2D) => applyColormap(m, colormap, { signed, range: rangeOf(m) });
  if (map.rank === 2) return one(map as tf.Tensor2D);
  return tf.tidy(() => tf.stack(tf.unstack(map).map((m) => one(m as tf.Tensor2D))) as tf.Tensor4D);
}

export interface OverlayOptions extends HeatmapOptions {
  /** Heatmap weight: 0 shows the image only, 1 the heatmap only. Default 0.5. */
  alpha?: number;
}

/**
 * The heatmap blended over the image it explains, `[H,W,3]` (`[N,H,W,3]`). Maps at a layer's
 * resolution (Grad-CAM) are upsampled bilinearly first. Default colormap 'jet' (unsigned) or
 * 'rdbu' (signed).
 */
export function overlay(image: tf.Tensor3D, result: Renderable, options?: OverlayOptions): tf.Tensor3D;
export function overlay(image: tf.Tensor4D, result: Renderable, options?: OverlayOptions): tf.Tensor4D;
export function overlay(
  image: tf.Tensor3D | tf.Tensor4D,
  result: Renderable,
  options?: OverlayOptions,
): tf.Tensor3D | tf.Tensor4D;
export function overlay(
  image: tf.Tensor3D | tf.Tensor4D,
  result: Renderable,
  options: OverlayOptions = {},
): tf.Tensor3D | tf.Tensor4D {
  checkImage(image);
  const { map, signed: ownSign } = mapOf(result);
  const signed = options.signed ?? ownSign;
  const colormap = options.colormap ?? (signed ? 'rdbu' : 'jet');
  const { clipPercentile = 0 } = options;
  checkNumber(clipPercentile, 'clipPercentile', { min: 0, max: 100 });
  const optsFor = (m: tf.Tensor2D) => ({
    alpha: options.alpha,
    colormap,
    signed,
    range: options.range ?? (clipPercentile > 0 ? clippedRange(m, signed, clipPercentile) : undefined),
  });
  check(
    image.rank - 1 === map.rank && (image.rank === 3 || image.shape[0] === map.shape[0]),
    'BAD_INPUT',
    `image [${image.shape.join(',')}] and map [${map.shape.join(',')}] do not match: pass one image with its map, or a batch with its batch result`,
  );
  if (image.rank === 3)
    return overlayHeatmap(image as tf.Tensor3D, map as tf.Tensor2D, optsFor(map as tf.Tensor2D));
  return tf.tidy(() => {
    const imgs = tf.unstack(image);
    const maps = tf.unstack(map);
    return tf.stack(
      imgs.map((im, i) =>
        overlayHeatmap(im as tf.Tensor3D, maps[i] as tf.Tensor2D, optsFor(maps[i] as tf.Tensor2D)),
      ),
    ) as tf.Tensor4D;
  });
}
