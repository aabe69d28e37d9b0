import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  checkAborted,
  checkImage,
  checkNumber,
  createRng,
  yieldToEventLoop,
  type VisionModel,
} from '@cnnviz/core';
import { checkLayers, forwardPixels, inputChannels } from './model-utils.js';

export interface SampleActivationsOptions {
  /** Spatial layer `[H,W,C]` to read. */
  layer: string;
  /** Random spatial positions per image (without repetition, at most H*W). Default 4. */
  perImage?: number;
  /** Seed for the positions. Default 0. */
  seed?: number;
  /** Images per forward pass. Default 16. */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called after each batch with the images done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface SampledActivations {
  /** One activation vector (length C) per sample. */
  activations: Float32Array[];
  /** Per sample: index of its image, and its row and column in the layer's feature map. */
  image: Int32Array;
  y: Int32Array;
  x: Int32Array;
  /** The layer's feature map size `[H, W]`. */
  featureSize: [number, number];
  /** The input size the forward pass used (a fixed-size model's, else the images'): boxes refer to it. */
  inputSize: [number, number];
}

/**
 * The first step of an Activation Atlas (Carter et al. 2019): the activation vectors of `layer`
 * at a few random spatial positions of every image, with where they came from, so example
 * patches can be cut with the layer's receptive field. Images are pixels 0..1, `[N,H,W,C]` or a
 * list of `[H,W,C]` of one size.
 */
export async function sampleActivations(
  model: VisionModel,
  images: tf.Tensor4D | tf.Tensor3D[],
  options: SampleActivationsOptions,
): Promise<SampledActivations> {
  check(options !== null && typeof options === 'object', 'BAD_OPTION', 'options must be an object { layer }');
  checkLayers(model, [options.layer], 'layer');
  const perImage = options.perImage ?? 4;
  checkNumber(perImage, 'perImage', { min: 1, integer: true });
  const batchSize = options.batchSize ?? 16;
  checkNumber(batchSize, 'batchSize', { min: 1, integer: true });
  const channels = inputChannels(model);
  const list = Array.isArray(images);
  if (list) {
    check(images.length > 0, 'BAD_IMAGE', 'images must hold at least one image');
    for (const im of images) checkImage(im, { batch: false, channels, name: 'images[i]' });
    const [h0, w0] = images[0].shape;
    check(
      images.every((im) => im.shape[0] === h0 && im.shape[1] === w0),
      'BAD_IMAGE',
      'images must all have one size; resize them first',
    );
  } else {
    checkImage(images, { batch: true, channels, name: 'images' });
  }
  const n = list ? images.length : images.shape[0];
  const rng = createRng(options.seed ?? 0);
  const acts: Float32Array[] = [];
  const img: number[] = [];
  const ys: number[] = [];
  const xs: number[] = [];
  let featureSize: [number, number] = [0, 0];
  let inputSize: [number, number] = [0, 0];
  for (let start = 0; start < n; start += batchSize) {
    checkAborted(options.signal, 'sampleActivations');
    const count = Math.min(batchSize, n - start);
    const fmap = tf.tidy(() => {
      const batch = list
        ? tf.stack((images as tf.Tensor3D[]).slice(start, start + count))
        : tf.slice(images as tf.Tensor4D, start, count);
      const out = forwardPixels(model, batch as tf.Tensor4D, [options.layer], { logits: false });
      return out.activations[options.layer];
    });
    let data: Float32Array;
    try {
      check(
        fmap.rank === 4,
        'BAD_LAYER',
        `sampleActivations needs a spatial layer [H,W,C]; "${options.layer}" has shape [${fmap.shape.slice(1).join(',')}]`,
      );
      data = (await fmap.data()) as Float32Array;
    } finally {
      fmap.dispose();
    }
    const [, h, w, c] = fmap.shape;
    featureSize = [h, w];
    const [mh, mw] = model.inputShape;
    const [ih, iw] = list ? (images as tf.Tensor3D[])[0].shape : (images as tf.Tensor4D).shape.slice(1);
    inputSize = [mh ?? ih, mw ?? iw];
    const k = Math.min(perImage, h * w);
    for (let b = 0; b < count; b++) {
      // Partial Fisher–Yates: k distinct positions.
      const pos = Int32Array.from({ length: h * w }, (_, i) => i);
      for (let i = 0; i < k; i++) {
        const j = i + Math.floor(rng() * (h * w - i));
        const t = pos[i];
        pos[i] = pos[j];
        pos[j] = t;
        const p = pos[i];
        const off = (b * h * w + p) * c;
        acts.push(data.slice(off, off + c));
        img.push(start + b);
        ys.push(Math.floor(p / w));
        xs.push(p % w);
      }
    }
    options.onProgress?.(start + count, n);
    await yieldToEventLoop();
  }
  return {
    activations: acts,
    image: Int32Array.from(img),
    y: Int32Array.from(ys),
    x: Int32Array.from(xs),
    featureSize,
    inputSize,
  };
}
