import * as tf from '@tensorflow/tfjs-core';
import { type KernelFix } from './registry.js';
import { type HeapView, isWasmBackend, runCopier } from './wasm-heap.js';

/**
 * `out` = the concatenation of `xs` along an axis, each `xs[i]` given as `outer` blocks of `inner[i]` elements (the
 * product of its dimensions from the axis on): block b of every input in turn.
 */
export function concatInto(xs: HeapView[], inner: number[], outer: number, out: HeapView): void {
  const copies = xs.map((x) => runCopier(x, out));
  let o = 0;
  for (let b = 0; b < outer; b++) {
    for (let i = 0; i < xs.length; i++) {
      copies[i](b * inner[i], o, inner[i]);
      o += inner[i];
    }
  }
}

/**
 * Concat on wasm as `copyWithin` runs on the heap. The stock kernel copies each run through a new subarray, which for
 * a channel concatenation (InceptionV3's mixed blocks: one run of 32-384 floats per input and pixel) costs as much as
 * the copying.
 */
export const wasmConcatFix: KernelFix = {
  name: 'wasm:Concat',
  kernelName: tf.Concat,
  backendName: 'wasm',
  make: (stock) => (args) => {
    const { backend, attrs } = args;
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const viaStock = () => {
      if (stock === undefined) throw new Error('Concat: no stock kernel');
      return stock.kernelFunc(args);
    };
    if (!isWasmBackend(backend) || inputs.length < 2 || inputs[0].dtype === 'string') return viaStock();
    const axis = tf.util.parseAxisParam((attrs as unknown as tf.ConcatAttrs).axis, inputs[0].shape)[0];
    const shapes = inputs.map((t) => t.shape);
    tf.backend_util.assertParamsConsistent(shapes, axis);
    const live = inputs.filter((t) => tf.util.sizeFromShape(t.shape) > 0);
    if (live.length < 2 || live.some((t) => t.dtype !== inputs[0].dtype)) return viaStock();
    const out = backend.makeOutput(tf.backend_util.computeOutShape(shapes, axis), inputs[0].dtype);
    concatInto(
      live.map((t) => backend.typedArrayFromHeap(t)),
      live.map((t) => tf.util.sizeFromShape(t.shape.slice(axis))),
      tf.util.sizeFromShape(live[0].shape.slice(0, axis)),
      backend.typedArrayFromHeap(out),
    );
    return out;
  },
};
