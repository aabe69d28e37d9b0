import * as tf from '@tensorflow/tfjs-core';
import { checkNumber, checkImage } from '../validate.js';
import { checkSize } from './size.js';

export interface CropOrPadOptions {
  /** Value of the added border where the image is smaller than the target. Default 0. */
  padValue?: number;
}

/**
 * Centre-crops and/or centre-pads an image `[H,W,C]` or batch `[N,H,W,C]` to `[h, w]`, each axis
 * independently; an odd surplus goes to the bottom/right. Differentiable.
 */
export function cropOrPad<T extends tf.Tensor3D | tf.Tensor4D>(
  img: T,
  size: [number, number],
  options: CropOrPadOptions = {},
): T {
  checkImage(img);
  checkSize(size);
  const padValue = options.padValue ?? 0;
  checkNumber(padValue, 'padValue');
  return tf.tidy(() => {
    const x4 = (img.rank === 3 ? tf.expandDims(img, 0) : img) as tf.Tensor4D;
    const [, H, W] = x4.shape;
    const [h, w] = size;
    const cropTop = Math.max(0, Math.floor((H - h) / 2));
    const cropLeft = Math.max(0, Math.floor((W - w) / 2));
    const cropped = tf.slice(x4, [0, cropTop, cropLeft, 0], [-1, Math.min(H, h), Math.min(W, w), -1]);
    const padH = Math.max(0, h - H);
    const padW = Math.max(0, w - W);
    const top = Math.floor(padH / 2);
    const left = Math.floor(padW / 2);
    const out =
      padH === 0 && padW === 0
        ? cropped
        : tf.pad(
            cropped,
            [
              [0, 0],
              [top, padH - top],
              [left, padW - left],
              [0, 0],
            ],
            padValue,
          );
    return (img.rank === 3 ? tf.squeeze(out, [0]) : out) as T;
  });
}
