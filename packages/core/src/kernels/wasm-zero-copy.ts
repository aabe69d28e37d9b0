import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs } from './kernel-util.js';
import { type KernelFix } from './registry.js';

/**
 * Identity and same-dtype Cast on wasm as a shared buffer (one more reference), as the cpu and webgl backends do.
 * The stock wasm kernels copy the data, and the engine clones every tensor it saves for the backward pass: ~300
 * full-tensor copies per MobileNetV2 gradient. Tensor data is immutable, so sharing is safe.
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
    if (stock === undefined) throw new Error('Cast: no stock kernel');
    return stock.kernelFunc(args);
  },
};
