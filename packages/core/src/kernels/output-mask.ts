import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs, readValues, writeOutput } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { heapViews, isWasmBackend, wasmMemoryOf } from './wasm-heap.js';
import { simdMask } from './wasm-simd-mask.js';
import { OUTPUT_MASK_KERNEL } from './webgpu-kernel-fixes.js';

type Mask = 'relu' | 'relu6';

/**
 * dy masked by a ReLU/ReLU6 given its output y: dy where 0 < y (< 6), else 0. With stock ops it is greater, less,
 * logicalAnd, cast and multiply — five passes over every activation, 40 % of a MobileNetV2 input gradient on
 * wasm. This JS loop serves cpu and the tail of the wasm SIMD version (wasm-simd-mask.ts).
 */
export function outputMaskValues(
  dy: ArrayLike<number>,
  y: ArrayLike<number>,
  mask: Mask,
  out: Float32Array,
): void {
  const n = out.length;
  if (mask === 'relu6') for (let i = 0; i < n; i++) out[i] = y[i] > 0 && y[i] < 6 ? dy[i] : 0;
  else for (let i = 0; i < n; i++) out[i] = y[i] > 0 ? dy[i] : 0;
}

function maskOf(attrs: tf.NamedAttrMap | undefined): Mask {
  const mask = (attrs as { mask?: string } | undefined)?.mask;
  if (mask !== 'relu' && mask !== 'relu6')
    throw new Error(`cnnviz: ${OUTPUT_MASK_KERNEL} needs mask relu|relu6`);
  return mask;
}

/** `CnnvizOutputMask` (the fused convolution's input gradient uses it where registered) for wasm and cpu. */
export function outputMaskFix(backendName: 'wasm' | 'cpu'): KernelFix {
  return {
    name: `${backendName}:${OUTPUT_MASK_KERNEL}`,
    kernelName: OUTPUT_MASK_KERNEL,
    backendName,
    make: () => (args) => {
      const { inputs, backend, attrs } = args as unknown as KernelArgs;
      const dy = inputs.dy as tf.TensorInfo;
      const y = inputs.y as tf.TensorInfo;
      const mask = maskOf(attrs);
      if (isWasmBackend(backend)) {
        const { out, outView, inViews } = heapViews(backend, [dy, y], dy.shape, 'float32');
        const memory = wasmMemoryOf(backend);
        const simd = memory !== undefined ? simdMask(memory) : undefined;
        const n = outView.length;
        const head = simd ? n & ~3 : 0;
        if (simd) simd[mask](inViews[0].byteOffset, inViews[1].byteOffset, outView.byteOffset, n);
        // The SIMD loop covers whole groups of four; the rest (or everything, without SIMD) in JS.
        outputMaskValues(
          inViews[0].subarray(head),
          inViews[1].subarray(head),
          mask,
          outView.subarray(head) as Float32Array,
        );
        return out;
      }
      const out = new Float32Array(tf.util.sizeFromShape(dy.shape));
      outputMaskValues(readValues(backend, dy), readValues(backend, y), mask, out);
      return writeOutput(backend, dy.shape, out);
    },
  };
}
