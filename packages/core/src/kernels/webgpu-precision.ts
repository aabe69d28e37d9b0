import * as tf from '@tensorflow/tfjs-core';
import { FLOAT32, type ShaderPrecision } from './webgpu-programs.js';

// Which device runs cnnviz's webgpu convolutions in f16 now, read by every kernel that has an f16 variant; kept apart
// from webgpu-float16.ts (which switches it) so that the kernel fixes can read it without an import cycle.

/** The arithmetic cnnviz's WebGPU convolution kernels use. */
export type Precision = 'float32' | 'float16';

/**
 * tfjs env flag: the accumulator of the half-precision kernels, 'float32' (default: products in f16, sums in f32)
 * or 'float16' (everything in f16, what GPUs run fastest). `bench/src/webgpu-f16.ts` measures both.
 */
export const F16_ACCUMULATE_FLAG = 'CNNVIZ_WEBGPU_F16_ACCUMULATE';
tf.env().registerFlag(F16_ACCUMULATE_FLAG, () => 'float32');

/**
 * tfjs env flag (default true): the input-gradient kernels run in f16 too; false keeps them f32, so that only the
 * forward pass (the activations) is half precision. Small gradients fall below f16's normal range (6.1e-5).
 */
export const F16_GRADIENTS_FLAG = 'CNNVIZ_WEBGPU_F16_GRADIENTS';
tf.env().registerFlag(F16_GRADIENTS_FLAG, () => true);

/** The part of a GPUDevice used here (core may not import the backend package or WebGPU's types). */
export interface DeviceLike {
  features: { has(name: string): boolean };
  createShaderModule(descriptor: { code: string }): unknown;
}

// The device whose convolutions run in f16 now; kernels on any other device (a backend re-created since) stay f32.
let f16Device: DeviceLike | undefined;

/** Sets (or, with undefined, clears) the device whose convolutions run in f16. */
export function setF16Device(device: DeviceLike | undefined): void {
  f16Device = device;
}

export function deviceOf(backend: tf.KernelBackend): DeviceLike | undefined {
  return (backend as { device?: DeviceLike }).device;
}

/** The precision cnnviz's webgpu programs compile with on `backend` now, for a forward or an input-gradient kernel. */
export function webgpuShaderPrecision(
  backend: tf.KernelBackend,
  role: 'forward' | 'gradient' = 'forward',
): ShaderPrecision {
  if (f16Device === undefined || deviceOf(backend) !== f16Device) return FLOAT32;
  if (role === 'gradient' && !tf.env().getBool(F16_GRADIENTS_FLAG)) return FLOAT32;
  const acc = tf.env().get(F16_ACCUMULATE_FLAG) === 'float16' ? 'float16' : 'float32';
  return { compute: 'float16', accumulate: acc };
}

/** The precision cnnviz's convolutions run in on the active backend. */
export function activePrecision(): Precision {
  return f16Device !== undefined && tf.getBackend() === 'webgpu' && deviceOf(tf.backend()) === f16Device
    ? 'float16'
    : 'float32';
}
