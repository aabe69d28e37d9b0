import * as tf from '@tensorflow/tfjs-core';

/**
 * What every attribution technique returns for one image `[H,W,C]`. `map` is the 2-D picture to look
 * at; `raw` is the technique's native output (its shape is documented per technique). `dispose()`
 * frees every tensor the result holds.
 */
export interface Attribution {
  /** `[H,W]` (Grad-CAM: `[h,w]` at the layer's resolution). */
  map: tf.Tensor2D;
  raw: tf.Tensor;
  /** True when `map` carries a sign (integrated gradients, occlusion): render it on a diverging colormap. */
  signed: boolean;
  dispose(): void;
}

/** The same for a batch `[N,H,W,C]`: `map` is `[N,H,W]` and `raw` gains a leading `N`. */
export interface BatchAttribution {
  map: tf.Tensor3D;
  raw: tf.Tensor;
  signed: boolean;
  dispose(): void;
}

/** An image gives an Attribution, a batch a BatchAttribution; `E` adds a technique's extra fields. */
export type AttributionOf<I extends tf.Tensor, E = object> = (I extends tf.Tensor4D
  ? BatchAttribution
  : Attribution) &
  E;

/**
 * Builds a result from batched tensors (`map` `[N,...]`, `raw` `[N,...]`), dropping the batch axis
 * when the caller passed a single image. Takes ownership of every tensor in `map`, `raw` and `extra`.
 */
export function makeResult<E extends object>(
  batched: boolean,
  map: tf.Tensor,
  raw: tf.Tensor,
  signed: boolean,
  extra: E = {} as E,
  owned: tf.Tensor[] = [],
): any {
  const outMap = batched ? map : squeezeFirst(map);
  const outRaw = batched ? raw : squeezeFirst(raw);
  const tensors = [outMap, outRaw, ...owned];
  return {
    ...extra,
    map: outMap,
    raw: outRaw,
    signed,
    dispose() {
      for (const t of tensors) t.dispose();
    },
  };
}

/** Drops a leading batch axis of size 1, disposing the batched tensor. */
function squeezeFirst(t: tf.Tensor): tf.Tensor {
  const out = tf.reshape(t, t.shape.slice(1));
  t.dispose();
  return out;
}
