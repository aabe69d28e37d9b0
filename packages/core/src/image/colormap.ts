import * as tf from '@tensorflow/tfjs-core';
import { check } from '../validate.js';
import { INFERNO_HEX, VIRIDIS_HEX } from './colormap-data.js';

export type ColormapName = 'viridis' | 'inferno' | 'jet' | 'gray' | 'rdbu';

export interface ColormapOptions {
  /**
   * Map values symmetrically: 0 goes to the middle colour and ±max|v| to the ends. Default true
   * for 'rdbu' (signed attributions), false for the others (min-max scaled).
   */
  signed?: boolean;
  /** Fixed value range `[lo, hi]` instead of the map's own, so several maps share one scale. */
  range?: [number, number];
}

const NAMES: ColormapName[] = ['viridis', 'inferno', 'jet', 'gray', 'rdbu'];

function fromHex(hex: string): Float32Array {
  const lut = new Float32Array(256 * 3);
  for (let i = 0; i < 256 * 3; i++) lut[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16) / 255;
  return lut;
}

/** Linear interpolation of equally spaced anchor colours, as matplotlib's `from_list` does. */
function fromAnchors(hex: string[]): Float32Array {
  const anchors = hex.map((h) => [0, 2, 4].map((o) => parseInt(h.slice(o, o + 2), 16) / 255));
  const lut = new Float32Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const pos = (i / 255) * (anchors.length - 1);
    const a = Math.min(Math.floor(pos), anchors.length - 2);
    const f = pos - a;
    for (let c = 0; c < 3; c++) lut[3 * i + c] = anchors[a][c] * (1 - f) + anchors[a + 1][c] * f;
  }
  return lut;
}

/** matplotlib's `jet` segment data: per channel, (x, y) points joined linearly. */
const JET: number[][][] = [
  [
    [0, 0],
    [0.35, 0],
    [0.66, 1],
    [0.89, 1],
    [1, 0.5],
  ],
  [
    [0, 0],
    [0.125, 0],
    [0.375, 1],
    [0.64, 1],
    [0.91, 0],
    [1, 0],
  ],
  [
    [0, 0.5],
    [0.11, 1],
    [0.34, 1],
    [0.65, 0],
    [1, 0],
  ],
];

function fromSegments(segments: number[][][]): Float32Array {
  const lut = new Float32Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    segments.forEach((pts, c) => {
      let k = 1;
      while (k < pts.length - 1 && pts[k][0] < x) k++;
      const [x0, y0] = pts[k - 1];
      const [x1, y1] = pts[k];
      lut[3 * i + c] = y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
    });
  }
  return lut;
}

function grayLut(): Float32Array {
  const lut = new Float32Array(256 * 3);
  for (let i = 0; i < 256; i++) lut.fill(i / 255, 3 * i, 3 * i + 3);
  return lut;
}

// ColorBrewer RdBu (11 classes) reversed: blue for negative, white at 0, red for positive
// (matplotlib's RdBu_r), the usual reading of signed attributions.
const RDBU_R = [
  '053061',
  '2166ac',
  '4393c3',
  '92c5de',
  'd1e5f0',
  'f7f7f7',
  'fddbc7',
  'f4a582',
  'd6604d',
  'b2182b',
  '67001f',
];

const cache = new Map<ColormapName, Float32Array>();

/** The 256-entry RGB table (values 0..1, `[256*3]`) of a colormap. */
export function colormapLut(name: ColormapName): Float32Array {
  check(
    NAMES.includes(name),
    'BAD_OPTION',
    () => `colormap must be one of ${NAMES.join(', ')}, got ${String(name)}`,
  );
  let lut = cache.get(name);
  if (!lut) {
    lut =
      name === 'viridis'
        ? fromHex(VIRIDIS_HEX)
        : name === 'inferno'
          ? fromHex(INFERNO_HEX)
          : name === 'jet'
            ? fromSegments(JET)
            : name === 'gray'
              ? grayLut()
              : fromAnchors(RDBU_R);
    cache.set(name, lut);
  }
  return lut;
}

/**
 * Colours a 2-D map `[H,W]` → RGB image `[H,W,3]` in 0..1 through a 256-entry table. Unsigned
 * maps are min-max scaled (a constant map gets the lowest colour); signed maps are divided by
 * max|v| so that 0 always lands on the middle colour. Not differentiable (a table lookup).
 */
export function applyColormap(
  map: tf.Tensor2D,
  name: ColormapName = 'viridis',
  options: ColormapOptions = {},
): tf.Tensor3D {
  check(
    map instanceof tf.Tensor && !map.isDisposed && map.rank === 2,
    'BAD_IMAGE',
    () =>
      `map must be a live tf.Tensor2D [H,W], got ${map instanceof tf.Tensor ? `shape [${map.shape.join(',')}]` : typeof map}`,
  );
  const lutValues = colormapLut(name);
  const signed = options.signed ?? name === 'rdbu';
  const { range } = options;
  check(
    range === undefined ||
      (Array.isArray(range) && range.length === 2 && range.every(Number.isFinite) && range[1] > range[0]),
    'BAD_OPTION',
    () => `range must be [lo, hi] with finite lo < hi, got ${JSON.stringify(range)}`,
  );
  return tf.tidy(() => {
    const x = tf.cast(map, 'float32');
    let unit: tf.Tensor;
    if (signed) {
      const m = range ? tf.scalar(Math.max(Math.abs(range[0]), Math.abs(range[1]))) : tf.max(tf.abs(x));
      unit = tf.add(0.5, tf.mul(0.5, tf.div(x, tf.maximum(m, 1e-12))));
    } else if (range) {
      unit = tf.div(tf.sub(x, range[0]), range[1] - range[0]);
    } else {
      const lo = tf.min(x);
      unit = tf.div(tf.sub(x, lo), tf.maximum(tf.sub(tf.max(x), lo), 1e-12));
    }
    // NaN becomes index 0 after the clip on most backends; maps are validated upstream.
    const idx = tf.cast(tf.round(tf.mul(tf.clipByValue(unit, 0, 1), 255)), 'int32');
    const lut = tf.tensor2d(lutValues, [256, 3]);
    return tf.gather(lut, idx) as tf.Tensor as tf.Tensor3D;
  });
}
