import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  checkAborted,
  checkImage,
  checkLayer,
  checkNumber,
  poolSpatial,
  yieldToEventLoop,
  type FeaturePooling,
  type VisionModel,
} from '@cnnviz/core';

export interface ExtractFeaturesOptions {
  /** Layer whose activations are the features; default: the model's logits (last layer). */
  layer?: string;
  /** Images per forward pass. Default 32. */
  batchSize?: number;
  /**
   * How a spatial activation `[N,H,W,C]` becomes one vector per image: `avg` (global average
   * pooling, default), `max` (global max pooling) or `none` (flatten to H*W*C). Rank-2
   * activations are used as they are.
   */
  pooling?: FeaturePooling;
  /** Called after each batch with the images done (and the total when it is known). */
  onProgress?: (p: { done: number; total?: number }) => void;
  signal?: AbortSignal;
}

type ImageSource = tf.Tensor4D | tf.Tensor3D[] | Iterable<tf.Tensor3D> | AsyncIterable<tf.Tensor3D>;

/**
 * One feature vector per image: runs the model in batches (preprocess, then forward with the
 * layer tapped), pools spatial activations and copies each batch's features off the backend, so
 * only one batch of activations is alive at a time. Images may come from an async iterable
 * (streaming from disk): those tensors are disposed once used; a batch tensor or an array stays
 * the caller's. Returns `[N, F]`, which the caller disposes.
 */
export async function extractFeatures(
  model: VisionModel,
  images: ImageSource,
  options: ExtractFeaturesOptions = {},
): Promise<tf.Tensor2D> {
  check(
    typeof model === 'object' &&
      model !== null &&
      typeof model.forward === 'function' &&
      typeof model.preprocess === 'function',
    'BAD_OPTION',
    'model must be a VisionModel (with preprocess and forward)',
  );
  const { layer, batchSize = 32, pooling = 'avg', onProgress, signal } = options;
  checkNumber(batchSize, 'batchSize', { integer: true, min: 1 });
  check(
    pooling === 'avg' || pooling === 'max' || pooling === 'none',
    'BAD_OPTION',
    `pooling must be 'avg', 'max' or 'none', got ${String(pooling)}`,
  );
  if (layer !== undefined)
    checkLayer(
      layer,
      model.layers.map((l) => l.name),
    );
  const channels = model.inputShape[2];

  const chunks: Float32Array[] = [];
  let width = -1;
  let done = 0;
  const total =
    images instanceof tf.Tensor ? images.shape[0] : Array.isArray(images) ? images.length : undefined;

  const run = async (batch: tf.Tensor4D): Promise<void> => {
    // A turn of the event loop per batch, so an abort from a timer, a click or SIGINT is seen here.
    await yieldToEventLoop();
    checkAborted(signal, 'extractFeatures');
    const feats = tf.tidy(() => {
      const x = model.preprocess(batch);
      // With a layer only its activation is read: the forward pass stops there.
      const out = model.forward(x, layer === undefined ? [] : [layer], { logits: layer === undefined });
      const act = layer === undefined ? out.logits : out.activations[layer];
      check(act !== undefined, 'UNKNOWN_LAYER', `the model returned no activation for layer "${layer}"`);
      return poolSpatial(act, pooling);
    });
    try {
      const [b, f] = feats.shape;
      check(
        width < 0 || f === width,
        'BAD_IMAGE',
        `feature width changed from ${width} to ${f}; use images of one size`,
      );
      width = f;
      chunks.push((await feats.data()) as Float32Array);
      done += b;
    } finally {
      feats.dispose();
    }
    onProgress?.({ done, total });
  };

  if (images instanceof tf.Tensor) {
    checkImage(images, { channels, name: 'images' });
    check(
      images.rank === 4,
      'BAD_IMAGE',
      `images must be a batch [N,H,W,C], got shape [${images.shape.join(',')}]`,
    );
    check(images.shape[0] > 0, 'BAD_IMAGE', 'images is an empty batch');
    for (let s = 0; s < images.shape[0]; s += batchSize) {
      const size = Math.min(batchSize, images.shape[0] - s);
      const batch = tf.slice(images, [s, 0, 0, 0], [size, -1, -1, -1]);
      try {
        await run(batch);
      } finally {
        batch.dispose();
      }
    }
  } else {
    check(
      images !== null &&
        typeof images === 'object' &&
        (Symbol.iterator in images || Symbol.asyncIterator in images),
      'BAD_IMAGE',
      'images must be a batch [N,H,W,C], an array of [H,W,C] images or an (async) iterable of them',
    );
    const owned = !Array.isArray(images);
    let pending: tf.Tensor3D[] = [];
    let index = 0;
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const [h, w] = pending[0].shape;
      pending.forEach((im, i) =>
        check(
          im.shape[0] === h && im.shape[1] === w,
          'BAD_IMAGE',
          () =>
            `images in one batch must share a size: got ${h}x${w} and ${im.shape[0]}x${im.shape[1]} (image ${index - pending.length + i}); resize them first`,
        ),
      );
      const batch = tf.stack(pending) as tf.Tensor4D;
      try {
        await run(batch);
      } finally {
        batch.dispose();
        if (owned) pending.forEach((t) => t.dispose());
        pending = [];
      }
    };
    try {
      for await (const img of images as AsyncIterable<tf.Tensor3D>) {
        checkImage(img, { channels, batch: false, name: `images[${index}]` });
        pending.push(img);
        index++;
        if (pending.length === batchSize) await flush();
      }
      await flush();
    } finally {
      if (owned) pending.forEach((t) => t.dispose());
    }
    check(index > 0, 'BAD_IMAGE', 'images is empty');
  }

  const out = new Float32Array(done * width);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return tf.tensor2d(out, [done, width]);
}
