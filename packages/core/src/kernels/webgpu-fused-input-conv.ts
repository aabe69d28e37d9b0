import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from '../errors.js';
import { dilateFilter } from './conv-ops.js';
import {
  CONV_DX_MASKED_KERNEL,
  DEPTHWISE_DX_MASKED_KERNEL,
  OUTPUT_MASK_KERNEL,
} from './webgpu-kernel-fixes.js';
import { webgpuShaderPrecision } from './webgpu-precision.js';

/** Activations the fused convolution applies in the same kernel (all backends implement these three). */
export type FusedInputConvActivation = 'linear' | 'relu' | 'relu6';

export interface FusedInputConvOptions {
  bias?: tf.Tensor1D;
  strides?: number | [number, number];
  /** 'same' | 'valid' | explicit NHWC padding `[[0,0],[top,bottom],[left,right],[0,0]]`. */
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  activation?: FusedInputConvActivation;
  /** Depthwise convolution (filter `[kh,kw,C,m]`) instead of a full one (filter `[kh,kw,Cin,Cout]`). */
  depthwise?: boolean;
  /** Atrous rate (strides must then be 1, as in TensorFlow). Default 1. */
  dilations?: number | [number, number];
}

// Gradient overrides (overrides.ts) re-register kernel gradients and keep their state under this global key; while
// one is active for our activation, the activation must run as its own kernel so the override sees it.
const OVERRIDES_KEY = Symbol.for('cnnviz.gradientOverrides');
const ACTIVATION_KERNEL: Record<FusedInputConvActivation, string | undefined> = {
  linear: undefined,
  relu: 'Relu',
  relu6: 'Relu6',
};

function activationOverridden(activation: FusedInputConvActivation): boolean {
  const kernel = ACTIVATION_KERNEL[activation];
  if (kernel === undefined) return false;
  const slots = (globalThis as Record<symbol, unknown>)[OVERRIDES_KEY] as Map<string, unknown> | undefined;
  return slots?.has(kernel) === true;
}

/**
 * tfjs env flag (default false): on webgpu, take the input gradient of 1x1 convolutions in fusedInputOnlyConv2d as
 * one matmul instead of tfjs's Conv2DBackpropInput. `tf.env().set(POINTWISE_DX_MATMUL_FLAG, true)`; the GPU bench
 * times both.
 */
export const POINTWISE_DX_MATMUL_FLAG = 'CNNVIZ_WEBGPU_POINTWISE_DX_MATMUL';
tf.env().registerFlag(POINTWISE_DX_MATMUL_FLAG, () => false);

/** A 1x1 convolution with stride 1 and no padding: output pixel i is input pixel i times the filter. */
function pointwise(
  filter: tf.Tensor4D,
  inShape: number[],
  strides: number | [number, number],
  pad: FusedInputConvOptions['pad'],
): boolean {
  const [kh, kw] = filter.shape;
  const unit = typeof strides === 'number' ? strides === 1 : strides.every((s) => s === 1);
  const noPad =
    pad === 'same' || pad === 'valid' || (Array.isArray(pad) && pad.every((p) => p[0] === 0 && p[1] === 0));
  return kh === 1 && kw === 1 && unit && noPad && inShape.length === 4;
}

/**
 * Convolution + bias + activation as ONE forward kernel whose gradient is computed for the input only.
 *
 * Why: tfjs's `tf.fused.conv2d` gradient always computes the filter (and bias) gradient too, eagerly, and on WebGPU
 * the stock filter-gradient kernels are one thread per filter weight looping over every pixel — most of a
 * saliency step on a GPU. tfjs also unfuses ReLU6 whenever a gradient is being recorded. Here the forward stays
 * one fused dispatch and the backward is the activation mask plus `Conv2DBackpropInput` (or the depthwise one).
 * The filter and bias are constants: they receive no gradient, so use this for input attribution and image
 * optimisation, never for training. While a gradient override (guided backprop) is active for the activation's
 * kernel, the activation runs as a separate `Relu`/`Relu6` op so the override applies.
 */
export function fusedInputOnlyConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  options: FusedInputConvOptions,
): tf.Tensor4D {
  const activation = options.activation ?? 'linear';
  if (activationOverridden(activation)) {
    const pre = fusedInputOnlyConv2d(x, filter, { ...options, activation: 'linear' });
    const out = activation === 'relu' ? tf.relu(pre) : tf.relu6(pre);
    pre.dispose();
    return out;
  }
  const strides = options.strides ?? 1;
  const depthwise = options.depthwise === true;
  const pad = options.pad;
  const bias = options.bias;
  const dil: [number, number] =
    typeof options.dilations === 'number'
      ? [options.dilations, options.dilations]
      : (options.dilations ?? [1, 1]);
  const dilated = dil[0] !== 1 || dil[1] !== 1;
  if (dilated && !(strides === 1 || (Array.isArray(strides) && strides.every((v) => v === 1)))) {
    throw new CnnvizError(
      'BAD_OPTION',
      `strides must be 1 when dilations > 1 (as in TensorFlow), got ${strides}`,
    );
  }
  const kernelName = depthwise ? 'FusedDepthwiseConv2D' : 'FusedConv2D';
  const attrs = {
    strides,
    pad,
    dataFormat: 'NHWC',
    dilations: dil,
    dimRoundingMode: undefined,
    activation,
    leakyreluAlpha: undefined,
  } as unknown as tf.NamedAttrMap;

  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const input = args[0] as tf.Tensor4D;
    const save = args[1] as tf.GradSaveFunc;
    const inputs: tf.NamedTensorMap = { x: input, filter };
    if (bias !== undefined) inputs.bias = bias;
    // runKernel directly: tf.fused.* would silently unfuse a non-linear activation while a gradient is recorded.
    const y = tf.engine().runKernel(kernelName, inputs, attrs) as tf.Tensor4D;
    // The filter is saved too: when it was made inside the differentiated function, the engine frees it after the
    // forward pass unless a tape node holds it (saving clones the handle, not the data).
    save([y, filter]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [out, saved1] = saved as [tf.Tensor4D, tf.Tensor4D];
        // Dilated: the undilated gradient kernels on the zero-inserted filter (see dilateFilter).
        const w = dilateFilter(saved1, dil[0], dil[1]);
        const shape = input.shape as [number, number, number, number];
        const gradAttrs = { strides, pad, dilations: [1, 1], dataFormat: 'NHWC', inputShape: shape };
        const backendName = tf.getBackend();
        const mask = activation === 'linear' ? 'none' : activation;
        // On webgpu, registerKernelFixes('webgpu') adds kernels that apply the mask in the same dispatch.
        if (
          mask !== 'none' &&
          depthwise &&
          filter.shape[3] === 1 &&
          tf.getKernel(DEPTHWISE_DX_MASKED_KERNEL, backendName)
        ) {
          return tf.engine().runKernel(DEPTHWISE_DX_MASKED_KERNEL, { dy, filter: w, y: out }, {
            ...gradAttrs,
            mask,
          } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        }
        const pointwiseDx = !depthwise && pointwise(w, input.shape, strides, pad);
        // Half precision has no stock kernel to defer to: every full conv's input gradient takes cnnviz's f16 one.
        const half = webgpuShaderPrecision(tf.backend(), 'gradient').compute === 'float16';
        // A spatial conv (the stem 3x3 of most nets): input gradient and mask in one dispatch where registered.
        if (
          !depthwise &&
          (!pointwiseDx || half) &&
          w.shape[3] % 4 === 0 &&
          tf.getKernel(CONV_DX_MASKED_KERNEL, backendName)
        ) {
          const ins: tf.NamedTensorMap = { dy, filter: w };
          if (mask !== 'none') ins.y = out;
          return tf.engine().runKernel(CONV_DX_MASKED_KERNEL, ins, {
            ...gradAttrs,
            mask,
          } as unknown as tf.NamedAttrMap) as tf.Tensor4D;
        }
        let dyAct = dy;
        if (mask !== 'none' && tf.getKernel(OUTPUT_MASK_KERNEL, backendName)) {
          dyAct = tf.engine().runKernel(OUTPUT_MASK_KERNEL, { dy, y: out }, {
            mask,
          } as unknown as tf.NamedAttrMap) as tf.Tensor;
        } else if (activation === 'relu') dyAct = tf.mul(dy, tf.step(out));
        // ReLU6 from its output: passes where 0 < y < 6 (stock's 0 < x <= 6 differs only at x == 6 exactly).
        else if (activation === 'relu6')
          dyAct = tf.mul(dy, tf.logicalAnd(tf.greater(out, 0), tf.less(out, 6)));
        if (backendName === 'webgpu' && pointwiseDx && tf.env().getBool(POINTWISE_DX_MATMUL_FLAG)) {
          // A 1x1 stride-1 conv's input gradient is one matrix product, dy · Wᵀ: tfjs's tiled matmul instead of
          // its naive transposed-conv shader. Behind a flag until a GPU run decides: on lavapipe the two were
          // within the noise of a loaded host, and tfjs's matmul with a transposed operand may lose its vec4 path.
          const [n, h, wd, ci] = shape;
          const co = w.shape[3];
          return tf.tidy(() =>
            tf.reshape(
              tf.matMul(tf.reshape(dyAct, [n * h * wd, co]), tf.reshape(w, [ci, co]), false, true),
              shape,
            ),
          ) as tf.Tensor4D;
        }
        return tf
          .engine()
          .runKernel(
            depthwise ? 'DepthwiseConv2dNativeBackpropInput' : 'Conv2DBackpropInput',
            { dy: dyAct, filter: w },
            gradAttrs as unknown as tf.NamedAttrMap,
          ) as tf.Tensor4D;
      },
    };
  });
  return op(x) as tf.Tensor4D;
}
