import * as tf from '@tensorflow/tfjs-core';
import { checkAborted, checkNumber, type VisionModel } from '@cnnviz/core';

/** Progress of a long technique, in units of model evaluations (images, samples, windows, steps). */
export interface Progress {
  done: number;
  total: number;
}

/** Internal batching and cancellation, shared by every technique (Captum's `internal_batch_size`). */
export interface BatchOptions {
  /**
   * Memory one internal batch may use, in bytes (default 1 GiB; 4 GiB on webgpu, where large batches
   * are what fills a GPU). The batch size is this budget divided by an estimate of one input's
   * activations (and, for gradients, their backward pass); on webgpu it is also capped so that the
   * largest activation of a batch fits in one storage binding of the device. The estimate counts
   * every listed layer's output, an upper bound where BatchNorm and activations are folded into
   * the convolutions: MobileNetV2 at 224 px is estimated at 255 MB per input gradient and uses
   * about 75 MB, so the default runs 4 inputs at a time there (SmoothGrad-50 on 2-core WASM: half
   * the CPU time of one at a time, ~730 MB peak RSS).
   */
  maxBatchBytes?: number;
  /** Inputs per internal batch; overrides `maxBatchBytes`. */
  internalBatchSize?: number;
  /** Aborting rejects with CnnvizError('ABORTED') between batches. */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export const DEFAULT_MAX_BATCH_BYTES = 2 ** 30;
const WEBGPU_MAX_BATCH_BYTES = 4 * 2 ** 30;

/** What one input costs while it runs: all its activations, and the largest single one (bytes). */
export interface SampleCost {
  bytes: number;
  largest: number;
}

/**
 * Bytes one input of `h x w` occupies while it runs: the sum of the layers' outputs (a tidy keeps
 * them all alive until it ends), about three times that with the saved tensors and gradients of a
 * backward pass. Sizes missing from the layer list are scaled from the input by the strides seen.
 */
export function bytesPerSample(
  model: VisionModel,
  h: number,
  w: number,
  mode: 'forward' | 'gradient',
): SampleCost {
  const input = h * w * model.inputShape[2];
  let floats = input * 2;
  let largest = input;
  let stride = 1;
  for (const layer of model.layers) {
    if (layer.kernel) stride *= Math.max(layer.kernel.strides[0], layer.kernel.strides[1]);
    let size: number;
    if (layer.outputShape.every((d) => typeof d === 'number')) {
      size = layer.outputShape.reduce<number>((a, d) => a * (d as number), 1);
    } else if (layer.outputShape.length === 3) {
      const c = layer.outputShape[2] ?? model.inputShape[2];
      size = Math.ceil(h / stride) * Math.ceil(w / stride) * c;
    } else {
      size = layer.outputShape.reduce<number>((a, d) => a * (d ?? 1), 1);
    }
    floats += size;
    largest = Math.max(largest, size);
  }
  return { bytes: floats * 4 * (mode === 'gradient' ? 3 : 1.2), largest: largest * 4 };
}

/** The active webgpu device's largest storage binding in bytes; undefined on other backends. */
function storageBindingLimit(): number | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const backend = tf.backend() as unknown as {
    device?: { limits?: { maxStorageBufferBindingSize?: number } };
  };
  return backend.device?.limits?.maxStorageBufferBindingSize;
}

/** Inputs per internal batch for a job of `total` inputs of `cost` each. */
export function batchSize(options: BatchOptions, cost: SampleCost, total: number): number {
  const binding = storageBindingLimit();
  const { internalBatchSize, maxBatchBytes = binding ? WEBGPU_MAX_BATCH_BYTES : DEFAULT_MAX_BATCH_BYTES } =
    options;
  if (internalBatchSize !== undefined) {
    checkNumber(internalBatchSize, 'internalBatchSize', { min: 1, integer: true });
    return Math.min(internalBatchSize, total);
  }
  checkNumber(maxBatchBytes, 'maxBatchBytes', { min: 1 });
  let size = Math.floor(maxBatchBytes / cost.bytes);
  if (binding !== undefined) size = Math.min(size, Math.floor(binding / cost.largest));
  return Math.max(1, Math.min(total, size));
}

/** Reports progress, lets the event loop run (UI, abort handlers) and honours the signal. */
export async function step(options: BatchOptions, done: number, total: number, what: string): Promise<void> {
  options.onProgress?.({ done, total });
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  checkAborted(options.signal, what);
}
