import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { heapViews, isWasmBackend } from './wasm-heap.js';

/**
 * Identity and same-dtype Cast on wasm as a shared buffer (one more reference), as the cpu and webgl backends do.
 * The stock wasm kernels copy the data, and the engine clones every tensor it saves for the backward pass: ~300
 * full-tensor copies per MobileNetV2 gradient. Tensor data is immutable, so sharing is safe.
 * Cast to bool is also corrected: stock wasm turns -2 into 254 (a truthy but non-canonical bool).
 */
function share(backend: tf.KernelBackend, x: tf.TensorInfo): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape.slice(), dtype: x.dtype };
}

export const wasmIdentityFix: KernelFix = {
  name: 'wasm:Identity',
  kernelName: tf.Identity,
  backendName: 'wasm',
  make: (stock) => (args) => {
    const { inputs, backend } = args as unknown as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    if (x.dtype === 'string' && stock !== undefined) return stock.kernelFunc(args);
    return share(backend, x);
  },
};

export const wasmCastFix: KernelFix = {
  name: 'wasm:Cast',
  kernelName: tf.Cast,
  backendName: 'wasm',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    const { dtype } = attrs as unknown as tf.CastAttrs;
    if (dtype === x.dtype && dtype !== 'string') return share(backend, x);
    // The stock kernel converts with TypedArray.set, which wraps -2 to 254 in a bool (Uint8) buffer: non-zero must be 1.
    if (dtype === 'bool' && x.dtype !== 'string' && isWasmBackend(backend)) {
      const { out, outView, inViews } = heapViews(backend, [x], x.shape.slice(), 'bool');
      const v = inViews[0];
      for (let i = 0; i < v.length; i++) outView[i] = +(v[i] !== 0);
      return out;
    }
    if (stock === undefined) throw new Error('Cast: no stock kernel');
    return stock.kernelFunc(args);
  },
};
