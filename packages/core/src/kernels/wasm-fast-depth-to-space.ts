import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { heapViews, isWasmBackend } from './wasm-heap.js';

/**
 * DepthToSpace (NHWC) on wasm as run copies between heap views: out[b, h·s+i, w·s+j, c] = x[b, h, w, (i·s+j)·C + c].
 * The stock kernel takes ~9 ms on MobileNetV2's stem gradient ([1,113,113,12] → [1,226,226,3]); the strided
 * input-gradient fix (sub-pixel convolution) ends in one.
 */
export function depthToSpaceInto(
  x: Float32Array | Int32Array | Uint8Array,
  shape: number[],
  s: number,
  out: Float32Array | Int32Array | Uint8Array,
): void {
  const [b, h, w, d] = shape;
  const c = d / (s * s);
  const outW = w * s;
  let src = 0;
  for (let bi = 0; bi < b; bi++) {
    for (let hi = 0; hi < h; hi++) {
      for (let wi = 0; wi < w; wi++) {
        for (let i = 0; i < s; i++) {
          let dst = ((bi * h * s + hi * s + i) * outW + wi * s) * c;
          for (let j = 0; j < s; j++, src += c, dst += c) {
            // set(subarray) costs ~100 ns a call: only worth it for long runs.
            if (c >= 64) out.set(x.subarray(src, src + c), dst);
            else for (let k = 0; k < c; k++) out[dst + k] = x[src + k];
          }
        }
      }
    }
  }
}

export const wasmDepthToSpaceFix: KernelFix = {
  name: 'wasm:DepthToSpace',
  kernelName: tf.DepthToSpace,
  backendName: 'wasm',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const x = inputs.x as tf.TensorInfo;
    const { blockSize: s, dataFormat } = attrs as unknown as tf.DepthToSpaceAttrs;
    if (dataFormat !== 'NHWC' || x.dtype === 'string' || !isWasmBackend(backend)) {
      if (stock === undefined) throw new Error('DepthToSpace: no stock kernel');
      return stock.kernelFunc(args);
    }
    const [b, h, w, d] = x.shape;
    const { out, outView, inViews } = heapViews(backend, [x], [b, h * s, w * s, d / (s * s)], x.dtype);
    depthToSpaceInto(inViews[0], x.shape, s, outView);
    return out;
  },
};
