import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs, readValues } from './kernel-util.js';
import { type KernelFix } from './registry.js';

/**
 * `UnsortedSegmentSum` for backends that lack it (wasm 4.22). It is the gradient of `gather`, so any objective that
 * picks a logit or a channel with `tf.gather` needs it. Ids outside [0, numSegments) are dropped, as in TensorFlow.
 */
export function unsortedSegmentSumValues(
  x: ArrayLike<number>,
  ids: ArrayLike<number>,
  numSegments: number,
  inner: number,
  out: Float32Array | Int32Array,
): void {
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) out[dst + j] += x[src + j];
  }
}

export const wasmUnsortedSegmentSumFix: KernelFix = {
  name: 'wasm:UnsortedSegmentSum',
  kernelName: tf.UnsortedSegmentSum,
  backendName: 'wasm',
  make: () => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    const ids = inputs.segmentIds as tf.TensorInfo;
    const { numSegments } = attrs as unknown as tf.UnsortedSegmentSumAttrs;
    const idsSize = tf.util.sizeFromShape(ids.shape);
    const inner = idsSize === 0 ? 0 : tf.util.sizeFromShape(x.shape) / idsSize;
    const shape = [numSegments, ...x.shape.slice(ids.shape.length)];
    const dtype = x.dtype === 'int32' ? 'int32' : 'float32';
    const out =
      dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
    unsortedSegmentSumValues(readValues(backend, x), readValues(backend, ids), numSegments, inner, out);
    return { dataId: backend.write(out, shape, dtype), shape, dtype };
  },
};
