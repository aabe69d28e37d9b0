import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { check, checkImage } from '@cnnviz/core';
import { styleNetworkForward } from './fast-forward.js';

/** A trained feed-forward style network (see `trainStyleNetwork`, `loadStyleNetwork`). */
export interface StyleNetwork {
  /** The image transformation network: `[N,H,W,3]` 0..1 in, the same out. */
  model: tfl.LayersModel;
  dispose(): void;
}

/**
 * Stylises an image `[H,W,3]` (or a batch `[N,H,W,3]`), 0..1, in one forward pass of a style
 * network (Johnson et al. 2016). Any size from 8 px: the image is reflection-padded to a multiple of 4
 * (the network downsamples twice) and cropped back. Returns a new tensor of the input's shape.
 */
export function applyStyleNetwork<T extends tf.Tensor3D | tf.Tensor4D>(
  net: StyleNetwork | tfl.LayersModel,
  image: T,
): T {
  const model =
    net !== null && typeof net === 'object' && 'layers' in net
      ? (net as tfl.LayersModel)
      : (net as StyleNetwork)?.model;
  check(
    model !== undefined && typeof model.apply === 'function',
    'BAD_OPTION',
    'net must be a StyleNetwork or a tf.LayersModel',
  );
  // Below 8 px the reflection padding of the downsampled trunk has nothing to reflect.
  checkImage(image, { channels: 3, minSize: 8 });
  return tf.tidy(() => {
    const x = tf.cast(image.rank === 3 ? tf.expandDims(image, 0) : image, 'float32') as tf.Tensor4D;
    const [, h, w] = x.shape;
    const ph = (4 - (h % 4)) % 4;
    const pw = (4 - (w % 4)) % 4;
    const padded =
      ph || pw
        ? tf.mirrorPad(
            x,
            [
              [0, 0],
              [0, ph],
              [0, pw],
              [0, 0],
            ],
            'reflect',
          )
        : x;
    const y = styleNetworkForward(model, padded as tf.Tensor4D);
    const out = ph || pw ? tf.slice(y, [0, 0, 0, 0], [-1, h, w, 3]) : y;
    return (image.rank === 3 ? tf.squeeze(out, [0]) : out) as T;
  });
}
