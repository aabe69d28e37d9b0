import { checkAborted, checkNumber, type VisionModel } from '@cnnviz/core';

/** Progress of a long technique, in units of model evaluations (images, samples, windows, steps). */
export interface Progress {
  done: number;
  total: number;
}

/** Internal batching and cancellation, shared by every technique (Captum's `internal_batch_size`). */
export interface BatchOptions {
  /**
   * Memory one internal batch may use, in bytes (default 256 MiB). The batch size is this budget
   * divided by an estimate of one input's activations (and, for gradients, their backward pass).
   */
  maxBatchBytes?: number;
  /** Inputs per internal batch; overrides `maxBatchBytes`. */
  internalBatchSize?: number;
  /** Aborting rejects with CnnvizError('ABORTED') between batches. */
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
}

export const DEFAULT_MAX_BATCH_BYTES = 256 * 2 ** 20;

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
): number {
  let floats = h * w * model.inputShape[2] * 2;
  let stride = 1;
  for (const layer of model.layers) {
    if (layer.kernel) stride *= Math.max(layer.kernel.strides[0], layer.kernel.strides[1]);
    const known = layer.outputShape.every((d) => typeof d === 'number');
    if (known) {
      floats += layer.outputShape.reduce<number>((a, d) => a * (d as number), 1);
    } else if (layer.outputShape.length === 3) {
      const c = layer.outputShape[2] ?? model.inputShape[2];
      floats += Math.ceil(h / stride) * Math.ceil(w / stride) * c;
    } else {
      floats += layer.outputShape.reduce<number>((a, d) => a * (d ?? 1), 1);
    }
  }
  return floats * 4 * (mode === 'gradient' ? 3 : 1.2);
}

/** Inputs per internal batch for a job of `total` inputs of `perSample` bytes each. */
export function batchSize(options: BatchOptions, perSample: number, total: number): number {
  const { internalBatchSize, maxBatchBytes = DEFAULT_MAX_BATCH_BYTES } = options;
  if (internalBatchSize !== undefined) {
    checkNumber(internalBatchSize, 'internalBatchSize', { min: 1, integer: true });
    return Math.min(internalBatchSize, total);
  }
  checkNumber(maxBatchBytes, 'maxBatchBytes', { min: 1 });
  return Math.max(1, Math.min(total, Math.floor(maxBatchBytes / perSample)));
}

/** Reports progress, lets the event loop run (UI, abort handlers) and honours the signal. */
export async function step(options: BatchOptions, done: number, total: number, what: string): Promise<void> {
  options.onProgress?.({ done, total });
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  checkAborted(options.signal, what);
}
