import * as tf from '@tensorflow/tfjs-core';
import { check, checkFinite, checkImage, checkNumber, type VisionModel } from '@cnnviz/core';
import { batchSize, bytesPerSample, step, type BatchOptions } from './batching.js';
import { spatialLayer } from './layers.js';
import { receptiveField, receptiveFieldBox, type Box } from './receptive-field.js';

export interface TopPatchesOptions extends BatchOptions {
  /** A layer with spatial output `[h,w,C]`. */
  layer: string;
  /** The channel whose units are ranked. */
  channel: number;
  /** How many patches. Default 9. */
  k?: number;
  /** At most one patch per image (its best unit). Default false. */
  distinctImages?: boolean;
}

/** One maximally activating unit and the part of its image it sees. */
export interface Patch {
  /** Index of the image in the input set. */
  imageIndex: number;
  /** The unit's position in the layer's map. */
  y: number;
  x: number;
  /** The unit's activation. */
  value: number;
  /** The unit's receptive field in input pixels, clipped to the image. */
  box: Box;
  /** The image cropped to `box`, `[box.height, box.width, C]`; the caller disposes it. */
  patch: tf.Tensor3D;
}

/**
 * Maximally activating patches (Girshick et al. 2014, CS231n): runs every image, ranks the units
 * of one channel of a spatial layer, and crops each of the `k` best units' receptive fields (see
 * `receptiveField`) from its image. `images` is a batch `[N,H,W,C]` or a list of equally sized
 * `[H,W,C]` images; they run in internal batches sized to `maxBatchBytes`. Patches are sorted by
 * value, best first; each `patch` tensor belongs to the caller.
 */
export async function topPatches(
  model: VisionModel,
  images: tf.Tensor4D | tf.Tensor3D[],
  options: TopPatchesOptions,
): Promise<Patch[]> {
  check(
    options !== null && typeof options === 'object',
    'BAD_OPTION',
    'options { layer, channel, k } are required',
  );
  const { channel, k = 9, distinctImages = false } = options;
  const list = Array.isArray(images) ? images : undefined;
  if (list) {
    check(
      list.length > 0,
      'BAD_IMAGE',
      'images is empty; pass a batch [N,H,W,C] or a list of [H,W,C] images',
    );
    list.forEach((im, i) =>
      checkImage(im, { batch: false, channels: model.inputShape[2], name: `images[${i}]` }),
    );
    list.forEach((im, i) =>
      check(
        im.shape.every((d, j) => d === list[0].shape[j]),
        'BAD_IMAGE',
        () =>
          `images must share one size: images[0] is [${list[0].shape.join(',')}], images[${i}] is [${im.shape.join(',')}]`,
      ),
    );
  } else {
    checkImage(images, { channels: model.inputShape[2], name: 'images' });
    check(
      images.rank === 4,
      'BAD_IMAGE',
      `images must be a batch [N,H,W,C] or a list of [H,W,C], got shape [${(images as tf.Tensor).shape.join(',')}]`,
    );
  }
  const first = list ? list[0] : (images as tf.Tensor4D);
  const [h, w] = first.shape.slice(-3);
  const n = list ? list.length : (images as tf.Tensor4D).shape[0];
  const [mh, mw] = model.inputShape;
  check(
    (mh === null || mh === h) && (mw === null || mw === w),
    'BAD_IMAGE',
    `images must be ${mh ?? 'H'}x${mw ?? 'W'} pixels for this model, got ${h}x${w}`,
  );
  const layer = spatialLayer(model, options.layer, 'topPatches');
  checkNumber(k, 'k', { min: 1, integer: true });
  const channels = model.layers.find((l) => l.name === layer)!.outputShape[2];
  check(
    typeof channel === 'number' &&
      Number.isInteger(channel) &&
      channel >= 0 &&
      (channels == null || channel < channels),
    'BAD_TARGET',
    `channel must be an integer in 0..${channels == null ? 'C-1' : channels - 1} for layer "${layer}", got ${String(channel)}`,
  );
  const rf = receptiveField(model, layer, [h, w]);

  const best: Omit<Patch, 'box' | 'patch'>[] = [];
  const size = batchSize(options, bytesPerSample(model, h, w, 'forward'), n);
  for (let start = 0; start < n; start += size) {
    const count = Math.min(size, n - start);
    const batch = list
      ? tf.stack(list.slice(start, start + count))
      : tf.slice(images as tf.Tensor4D, [start, 0, 0, 0], [count, -1, -1, -1]);
    try {
      await checkFinite(batch, 'images');
      const act = tf.tidy(() => {
        // Only this layer is read: the forward pass stops there.
        const a = model.forward(model.preprocess(batch as tf.Tensor4D), [layer], { logits: false })
          .activations[layer] as tf.Tensor4D;
        check(a !== undefined && a.rank === 4, 'BAD_LAYER', `layer "${layer}" gave no spatial activation`);
        const depth = a.shape[3];
        check(
          channel < depth,
          'BAD_TARGET',
          `channel ${channel} is out of range for layer "${layer}" (${depth} channels)`,
        );
        return tf.squeeze(tf.slice(a, [0, 0, 0, channel], [-1, -1, -1, 1]), [3]);
      });
      const [, ah, aw] = act.shape;
      const values = await act.data();
      act.dispose();
      for (let b = 0; b < count; b++) {
        let candidates: Omit<Patch, 'box' | 'patch'>[] = [];
        for (let y = 0; y < ah; y++) {
          for (let x = 0; x < aw; x++) {
            const value = values[b * ah * aw + y * aw + x];
            if (distinctImages) {
              if (candidates.length === 0 || value > candidates[0].value)
                candidates = [{ imageIndex: start + b, y, x, value }];
            } else {
              candidates.push({ imageIndex: start + b, y, x, value });
            }
          }
        }
        for (const c of candidates) insert(best, c, k);
      }
    } finally {
      if (batch !== images) batch.dispose();
    }
    await step(options, start + count, n, 'topPatches');
  }

  return best.map((u) => {
    const box = receptiveFieldBox(rf, u.y, u.x, [h, w]);
    const patch = tf.tidy(() => {
      const img = list
        ? list[u.imageIndex]
        : tf.squeeze(tf.slice(images as tf.Tensor4D, [u.imageIndex, 0, 0, 0], [1, -1, -1, -1]), [0]);
      return tf.slice(img, [box.top, box.left, 0], [box.height, box.width, -1]) as tf.Tensor3D;
    });
    return { ...u, box, patch };
  });
}

/** Keeps `best` sorted, best first, at most `k` long (ties keep the earlier unit). */
function insert<T extends { value: number }>(best: T[], item: T, k: number): void {
  if (best.length === k && item.value <= best[k - 1].value) return;
  let i = best.length;
  while (i > 0 && best[i - 1].value < item.value) i--;
  best.splice(i, 0, item);
  if (best.length > k) best.pop();
}
