import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { heapViews, isWasmBackend } from './wasm-heap.js';

/**
 * Tile as block copies inside the output buffer. tfjs-core's batchNorm gradient tiles the per-channel 1/σ to the full
 * activation shape; the stock wasm Tile (an index computation per element) took 15 ms a call there — 760 ms of a
 * 1.1 s MobileNetV2 input gradient. Here: rows of x are laid out (innermost axis repeated), then each outer axis
 * repeats its blocks with copyWithin, from the last block backwards so nothing is overwritten before it is copied.
 */
export function tileInto(
  x: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  reps: number[],
  out: Float32Array | Int32Array | Uint8Array,
): void {
  const r = shape.length;
  if (r === 0) {
    out[0] = x[0];
    return;
  }
  const last = shape[r - 1];
  const rows = x.length / Math.max(1, last);
  const rowOut = last * reps[r - 1];
  for (let i = 0; i < rows; i++) {
    const src = x.subarray(i * last, (i + 1) * last);
    for (let k = 0; k < reps[r - 1]; k++) out.set(src, i * rowOut + k * last);
  }
  let inner = rowOut;
  let prefixes = rows;
  for (let axis = r - 2; axis >= 0; axis--) {
    prefixes /= shape[axis];
    const block = shape[axis] * inner;
    const outBlock = block * reps[axis];
    for (let p = prefixes - 1; p >= 0; p--) {
      if (p * outBlock !== p * block) out.copyWithin(p * outBlock, p * block, p * block + block);
      for (let k = 1; k < reps[axis]; k++)
        out.copyWithin(p * outBlock + k * block, p * outBlock, p * outBlock + block);
    }
    inner *= shape[axis] * reps[axis];
  }
}

export const wasmTileFix: KernelFix = {
  name: 'wasm:Tile',
  kernelName: tf.Tile,
  backendName: 'wasm',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    const { reps } = attrs as unknown as tf.TileAttrs;
    if (x.dtype === 'string' || !isWasmBackend(backend) || reps.length !== x.shape.length) {
      if (stock === undefined) throw new Error('Tile: no stock kernel');
      return stock.kernelFunc(args);
    }
    const outShape = x.shape.map((d, i) => d * reps[i]);
    const { out, outView, inViews } = heapViews(backend, [x], outShape, x.dtype);
    if (outView.length > 0) tileInto(inViews[0], x.shape, reps, outView);
    return out;
  },
};
