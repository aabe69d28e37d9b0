import * as tf from '@tensorflow/tfjs-core';
import { check, checkFinite, checkImage, type VisionModel } from '@cnnviz/core';

/** A validated pixel image or batch, always seen as `[N,H,W,C]`. */
export interface PreparedInput {
  x: tf.Tensor4D;
  /** False when the caller passed one `[H,W,C]` image: results then drop the batch axis. */
  batched: boolean;
  n: number;
  h: number;
  w: number;
  c: number;
  /** Frees `x` when it was made here (never the caller's tensor). */
  dispose(): void;
}

/**
 * Checks an image or batch against the model (rank, channel count, fixed input size, finite values)
 * and views it as a batch. Every technique starts here so bad input fails the same way everywhere.
 */
export async function prepareImages(
  model: VisionModel,
  image: unknown,
  name = 'image',
): Promise<PreparedInput> {
  const [mh, mw, mc] = model.inputShape;
  checkImage(image, { channels: mc, name });
  const shape = image.shape;
  const [h, w, c] = shape.slice(-3);
  check(
    (mh === null || mh === h) && (mw === null || mw === w),
    'BAD_IMAGE',
    `${name} must be ${mh ?? 'H'}x${mw ?? 'W'} pixels for this model (input shape [${model.inputShape.join(',')}]), got shape [${shape.join(',')}]`,
  );
  const batched = image.rank === 4;
  check(!batched || shape[0] > 0, 'BAD_IMAGE', `${name} batch is empty (shape [${shape.join(',')}])`);
  await checkFinite(image, name);
  const x = batched ? (image as tf.Tensor4D) : tf.expandDims(image as tf.Tensor3D, 0);
  const x32 = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
  if (x32 !== x && x !== image) x.dispose();
  return {
    x: x32 as tf.Tensor4D,
    batched,
    n: batched ? shape[0] : 1,
    h,
    w,
    c,
    dispose() {
      if (x32 !== image) x32.dispose();
    },
  };
}
