import * as tf from '@tensorflow/tfjs-core';
import { check, checkLayer, checkNumber, tileGrid, type VisionModel } from '@cnnviz/core';
import { readWeights } from './weights.js';

export interface VisualizeFiltersOptions {
  /** Show at most this many filters (the first ones). Default all. */
  maxFilters?: number;
  /** Deeper layers: show at most this many input channels per filter. Default all. */
  maxChannels?: number;
  /**
   * Scale each filter to 0..1 on its own ('filter', default: an RGB filter keeps its colour
   * balance, a deeper filter its channels' relative strength), each tile on its own ('tile') or
   * all with one scale ('layer').
   */
  normalize?: 'filter' | 'tile' | 'layer';
}

/**
 * Convolution weights as pictures. A kernel with 3 input channels (the first layer of an RGB
 * model) gives one RGB tile per filter: `[F, kh, kw, 3]`. Any other kernel gives one grey tile per
 * filter and input channel, filter-major (tile `f * C + c` is filter f's channel c), as
 * `[F*C, kh, kw, 3]`; depthwise kernels `[kh,kw,C,m]` give one tile per channel and multiplier.
 * Lay the tiles out with `filterGrid(tiles, { cols: C })`. Synchronous; the caller disposes the result.
 */
export function visualizeFilters(
  model: VisionModel,
  layer: string,
  options: VisualizeFiltersOptions = {},
): tf.Tensor4D {
  checkLayer(
    layer,
    model.layers.map((l) => l.name),
  );
  const { maxFilters, maxChannels, normalize = 'filter' } = options;
  if (maxFilters !== undefined) checkNumber(maxFilters, 'maxFilters', { min: 1, integer: true });
  if (maxChannels !== undefined) checkNumber(maxChannels, 'maxChannels', { min: 1, integer: true });
  check(
    ['filter', 'tile', 'layer'].includes(normalize),
    'BAD_OPTION',
    `normalize must be 'filter', 'tile' or 'layer', got ${String(normalize)}`,
  );
  const info = model.layers.find((l) => l.name === layer)!;
  const { weights, release } = readWeights(model, layer);
  try {
    const kernel = weights.find((w) => w.rank === 4) as tf.Tensor4D | undefined;
    check(
      kernel !== undefined,
      'BAD_LAYER',
      `layer "${layer}" (${info.kind}) has no convolution kernel [kh,kw,in,out]; pick a Conv2D or DepthwiseConv2D layer`,
    );
    const depthwise = /depthwise/i.test(info.kind);
    return tf.tidy(() => {
      const [kh, kw, cin, cout] = kernel.shape;
      // [filters, channels, kh, kw]
      let k: tf.Tensor4D = depthwise
        ? tf.reshape(tf.transpose(kernel, [2, 3, 0, 1]), [cin * cout, 1, kh, kw])
        : tf.transpose(kernel, [3, 2, 0, 1]);
      const filters = Math.min(k.shape[0], maxFilters ?? Infinity);
      const rgb = !depthwise && cin === 3;
      const channels = rgb ? 3 : Math.min(k.shape[1], maxChannels ?? Infinity);
      k = tf.slice(k, [0, 0, 0, 0], [filters, channels, kh, kw]);
      const axes = normalize === 'layer' ? [0, 1, 2, 3] : normalize === 'filter' || rgb ? [1, 2, 3] : [2, 3];
      const lo = tf.min(k, axes, true);
      const hi = tf.max(k, axes, true);
      const unit = tf.div(tf.sub(k, lo), tf.maximum(tf.sub(hi, lo), 1e-12));
      if (rgb) return tf.transpose(unit, [0, 2, 3, 1]) as tf.Tensor4D;
      const grey = tf.reshape(unit, [filters * channels, kh, kw, 1]);
      return tf.tile(grey, [1, 1, 1, 3]) as tf.Tensor4D;
    });
  } finally {
    release();
  }
}

export interface FilterGridOptions {
  /** Tiles per row; default a near-square grid (pass the channel count for deeper layers). */
  cols?: number;
  /** Border pixels around and between tiles (after scaling). Default 1. */
  pad?: number;
  /** Enlarge each tile by this integer factor (nearest neighbour) so 3x3 kernels are visible. Default 8. */
  scale?: number;
}

/** One image `[rows*th, cols*tw, 3]` of the tiles from `visualizeFilters`. */
export function filterGrid(tiles: tf.Tensor4D, options: FilterGridOptions = {}): tf.Tensor3D {
  check(
    tiles instanceof tf.Tensor && !tiles.isDisposed && tiles.rank === 4,
    'BAD_INPUT',
    'tiles must be a live tf.Tensor4D [N,h,w,C] (see visualizeFilters)',
  );
  const { cols, pad = 1, scale = 8 } = options;
  checkNumber(scale, 'scale', { min: 1, integer: true });
  return tf.tidy(() => {
    const [, h, w] = tiles.shape;
    const big = scale === 1 ? tiles : tf.image.resizeNearestNeighbor(tiles, [h * scale, w * scale]);
    return tileGrid(big as tf.Tensor4D, { cols, pad });
  });
}
