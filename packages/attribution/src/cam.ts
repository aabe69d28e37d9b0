import * as tf from '@tensorflow/tfjs-core';
import type { VisionModel } from '@cnnviz/core';
import { batchSize, bytesPerSample, step, type BatchOptions } from './batching.js';
import { range } from './gradient.js';
import { prepareImages } from './input.js';
import { layerGradient } from './layer-gradient.js';
import { spatialLayer } from './layers.js';
import { makeResult } from './result.js';
import { resolveTarget, type TargetOptions } from './target.js';
import { upsample } from './upsample.js';

/** Options shared by Grad-CAM and Grad-CAM++. */
export interface CamOptions extends TargetOptions, BatchOptions {
  /** A layer with spatial output `[h,w,K]`. Default: the last convolution block's output. */
  layer?: string;
  /** Also return `upsampled`, the map resized bilinearly to the image size. Default false. */
  upsample?: boolean;
}

export interface CamExtra {
  /** The layer the map was computed at. */
  layer: string;
  /** Channel weights `[K]` (`[N,K]` for a batch). */
  weights: tf.Tensor;
  /** With `upsample: true`: the map at image size `[H,W]` (`[N,H,W]`). */
  upsampled?: tf.Tensor;
}

/** Channel weights `[N,K]` from the activation and its gradient, both `[N,h,w,K]`. */
export type ChannelWeighting = (activation: tf.Tensor4D, grad: tf.Tensor4D) => tf.Tensor2D;

/**
 * Class activation mapping with a given channel weighting: ReLU(sum_k weight_k A_k) at the
 * layer's resolution. Grad-CAM and Grad-CAM++ differ only in the weighting.
 */
export async function classActivationMap(
  model: VisionModel,
  image: unknown,
  options: CamOptions,
  weighting: ChannelWeighting,
  technique: string,
): Promise<any> {
  const opts = options ?? {};
  const input = await prepareImages(model, image);
  const maps: tf.Tensor[] = [];
  const weights: tf.Tensor[] = [];
  try {
    const layer = spatialLayer(model, opts.layer, technique);
    const { x, n, h, w } = input;
    const target = resolveTarget(model, opts, n, h, w);
    const size = batchSize(opts, bytesPerSample(model, h, w, 'gradient'), n);
    for (let start = 0; start < n; start += size) {
      const count = Math.min(size, n - start);
      const rows = range(start, start + count);
      const part = count === n ? x : tf.slice(x, [start, 0, 0, 0], [count, -1, -1, -1]);
      try {
        const g = layerGradient(model, part, layer, target.forRows(rows));
        const [cam, wk] = tf.tidy(() => {
          const k = weighting(g.activation, g.grad);
          const weighted = tf.mul(g.activation, tf.reshape(k, [count, 1, 1, -1]));
          return [tf.relu(tf.sum(weighted, 3)), k];
        });
        tf.dispose([g.activation, g.grad, g.values]);
        maps.push(cam);
        weights.push(wk);
      } finally {
        if (part !== x) part.dispose();
      }
      if (count < n) await step(opts, start + count, n, technique);
    }
    const map = maps.length === 1 ? maps[0] : tf.concat(maps, 0);
    const k = weights.length === 1 ? weights[0] : tf.concat(weights, 0);
    if (maps.length > 1) tf.dispose([...maps, ...weights]);
    maps.length = 0;
    weights.length = 0;
    const raw = map.clone();
    const upsampled = opts.upsample ? upsample(map as tf.Tensor3D, [h, w]) : undefined;
    const extraBatched = { layer, weights: k, upsampled };
    const extra = input.batched
      ? extraBatched
      : {
          layer,
          weights: tf.squeeze(k, [0]),
          upsampled: upsampled ? tf.squeeze(upsampled, [0]) : undefined,
        };
    if (!input.batched) {
      k.dispose();
      upsampled?.dispose();
    }
    const owned = [extra.weights, ...(extra.upsampled ? [extra.upsampled] : [])];
    return makeResult(input.batched, map, raw, false, extra, owned);
  } finally {
    tf.dispose([...maps, ...weights]);
    input.dispose();
  }
}
