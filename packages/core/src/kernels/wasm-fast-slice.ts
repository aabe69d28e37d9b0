import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { heapViews, isWasmBackend, runCopier } from './wasm-heap.js';

/**
 * Calls fn(offset, length) for the contiguous runs, in row-major order, of the box `begin`..`begin + size` inside a
 * row-major tensor of `shape` (trailing dims the box takes whole merge into one run with the last partial dim).
 */
export function forEachBoxRun(
  shape: number[],
  begin: number[],
  size: number[],
  fn: (offset: number, length: number) => void,
): void {
  const rank = shape.length;
  let k = rank - 1;
  let run = 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) {
    run *= shape[k];
    k--;
  }
  const strides = tf.util.computeStrides(shape);
  const runLen = run * size[k];
  const idx = new Array<number>(k).fill(0);
  const outerCount = tf.util.sizeFromShape(size.slice(0, k));
  for (let n = 0; n < outerCount; n++) {
    let off = begin[k] * run;
    for (let d = 0; d < k; d++) off += (begin[d] + idx[d]) * strides[d];
    fn(off, runLen);
    for (let d = k - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
}

/**
 * Slice on wasm as contiguous-run copies between heap views. The stock kernel first copies the whole input out of the
 * heap (readSync) and then copies row by row; gradients of `pad` (ZeroPadding2D) are slices of large tensors.
 */
export function sliceInto(
  x: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  begin: number[],
  size: number[],
  out: Float32Array | Int32Array | Uint8Array,
): void {
  const copy = runCopier(x, out);
  let o = 0;
  forEachBoxRun(shape, begin, size, (off, len) => {
    copy(off, o, len);
    o += len;
  });
}

export const wasmSliceFix: KernelFix = {
  name: 'wasm:Slice',
  kernelName: tf.Slice,
  backendName: 'wasm',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    const a = attrs as unknown as tf.SliceAttrs;
    if (x.dtype === 'string' || !isWasmBackend(backend) || x.shape.length === 0) {
      if (stock === undefined) throw new Error('Slice: no stock kernel');
      return stock.kernelFunc(args);
    }
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, a.begin, a.size);
    const { out, outView, inViews } = heapViews(backend, [x], size, x.dtype);
    if (tf.util.sizeFromShape(size) > 0) sliceInto(inViews[0], x.shape, begin, size, outView);
    return out;
  },
};

/**
 * SplitV (the gradient of every concat, and the roll of the jitter transform) as `sliceInto` copies: the stock wasm
 * SplitV runs the stock Slice once per part, so each part copied the whole input out of the heap first (22 ms a
 * step of InceptionV3's feature visualisation for what is a few hundred KB of copies).
 */
export const wasmSplitVFix: KernelFix = {
  name: 'wasm:SplitV',
  kernelName: tf.SplitV,
  backendName: 'wasm',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    const a = attrs as unknown as tf.SplitVAttrs;
    if (x.dtype === 'string' || !isWasmBackend(backend) || x.shape.length === 0) {
      if (stock === undefined) throw new Error('SplitV: no stock kernel');
      return stock.kernelFunc(args);
    }
    const axis = tf.util.parseAxisParam(a.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, a.numOrSizeSplits, axis);
    // Every output first: an allocation may grow the heap and detach views taken before it.
    const outs = sizes.map((s) => {
      const shape = x.shape.slice();
      shape[axis] = s;
      return backend.makeOutput(shape, x.dtype);
    });
    const xView = backend.typedArrayFromHeap(x);
    const begin = new Array<number>(x.shape.length).fill(0);
    for (const out of outs) {
      if (tf.util.sizeFromShape(out.shape) > 0)
        sliceInto(xView, x.shape, begin, out.shape, backend.typedArrayFromHeap(out));
      begin[axis] += out.shape[axis];
    }
    return outs;
  },
};
