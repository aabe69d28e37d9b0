import * as tf from '@tensorflow/tfjs-core';
import type { VisionModel } from '@cnnviz/core';
import { gradCam } from './grad-cam.js';
import type { CamOptions } from './cam.js';
import { guidedBackprop } from './guided-backprop.js';
import { maxAbsOverChannels } from './gradient.js';
import { makeResult, type AttributionOf } from './result.js';
import { upsample } from './upsample.js';

export type GuidedGradCamOptions = Omit<CamOptions, 'upsample'>;

export interface GuidedGradCamExtra {
  layer: string;
  /** The Grad-CAM map at the layer's resolution `[h,w]` (`[N,h,w]`). */
  cam: tf.Tensor;
}

/**
 * Guided Grad-CAM (Selvaraju et al. 2017): guided backpropagation times the Grad-CAM map
 * upsampled bilinearly to the image, `raw` `[H,W,C]`; `map` = max over channels of |raw| `[H,W]`.
 * Batches give `[N,H,W,C]` / `[N,H,W]`.
 */
export async function guidedGradCam<I extends tf.Tensor3D | tf.Tensor4D>(
  model: VisionModel,
  image: I,
  options: GuidedGradCamOptions,
): Promise<AttributionOf<I, GuidedGradCamExtra>> {
  const cam = (await gradCam(model, image as tf.Tensor4D, { ...options, upsample: false })) as unknown as {
    map: tf.Tensor3D;
    layer: string;
    dispose(): void;
  };
  try {
    const guided = (await guidedBackprop(model, image as tf.Tensor4D, options)) as unknown as {
      raw: tf.Tensor4D;
      dispose(): void;
    };
    try {
      const batched = image.rank === 4;
      const [h, w] = image.shape.slice(-3);
      const raw = tf.tidy(() => {
        const maps = batched ? cam.map : tf.expandDims(cam.map, 0);
        const g = batched ? guided.raw : tf.expandDims(guided.raw, 0);
        return tf.mul(g, tf.expandDims(upsample(maps as tf.Tensor3D, [h, w]), -1)) as tf.Tensor4D;
      });
      const camMap = cam.map.clone();
      return makeResult(batched, maxAbsOverChannels(raw), raw, false, { layer: cam.layer, cam: camMap }, [
        camMap,
      ]);
    } finally {
      guided.dispose();
    }
  } finally {
    cam.dispose();
  }
}
