import * as tf from '@tensorflow/tfjs-core';
import { backpropInputInfo } from './conv-ops.js';
import { type KernelArgs, isNHWC, noDilation, runOps, wrap } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { webgpuCounterNormalFix } from './webgpu-counter-noise.js';
import { webgpuShaderPrecision } from './webgpu-precision.js';
import { webgpuReduceChannelsFix } from './webgpu-reduce-channels.js';
import {
  ConvBackpropInputProgram,
  type DepthwiseGeometry,
  DepthwiseBackpropFilterProgram,
  DepthwiseBackpropInputProgram,
  geometryOf,
  type OutputMask,
  OutputMaskProgram,
  isWebGPUBackend,
} from './webgpu-programs.js';

/** Kernel cnnviz registers on webgpu: `dy * act'(y)` from the activation OUTPUT y (attrs: { mask: 'relu'|'relu6' }). */
export const OUTPUT_MASK_KERNEL = 'CnnvizOutputMask';
/**
 * Kernel cnnviz registers on webgpu: depthwise input gradient with the output activation's mask applied to dy
 * (inputs { dy, filter, y }; attrs as DepthwiseConv2dNativeBackpropInput plus { mask }).
 */
export const DEPTHWISE_DX_MASKED_KERNEL = 'CnnvizDepthwiseBackpropInputMasked';
/**
 * Kernel cnnviz registers on webgpu: a full convolution's input gradient with the output activation's mask applied
 * to dy (inputs { dy, filter, y? }; attrs as Conv2DBackpropInput plus { mask: 'none'|'relu'|'relu6' }). NHWC, no
 * dilation, output channels a multiple of 4.
 */
export const CONV_DX_MASKED_KERNEL = 'CnnvizConv2DBackpropInputMasked';

function depthwiseGeometry(
  inputShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  pad: unknown,
  dimRoundingMode: unknown,
): { g: DepthwiseGeometry; multiplier: number } {
  const info = tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    1,
    pad as 'same',
    dimRoundingMode as 'floor' | undefined,
    true,
  );
  return { multiplier: filterShape[3], g: geometryOf(info) };
}

function depthwiseDx(
  args: Parameters<tf.KernelFunc>[0],
  mask: OutputMask,
  stock: tf.KernelConfig | undefined,
) {
  const { inputs, backend, attrs } = args as unknown as KernelArgs;
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const { g, multiplier } = depthwiseGeometry(
    a.inputShape,
    filter.shape,
    a.strides,
    a.pad,
    a.dimRoundingMode,
  );
  if (!isWebGPUBackend(backend) || multiplier !== 1 || !noDilation(a.dilations)) {
    // The masked variant is only called for the supported case (fusedInputOnlyConv2d checks the multiplier).
    if (stock === undefined || mask !== 'none')
      throw new Error('cnnviz: no depthwise input-gradient kernel for this case');
    return stock.kernelFunc(args);
  }
  const program = new DepthwiseBackpropInputProgram(g, mask, webgpuShaderPrecision(backend, 'gradient'));
  const ins = mask === 'none' ? [dy, filter] : [dy, filter, inputs.y as tf.TensorInfo];
  return backend.runWebGPUProgram(program, ins, 'float32', program.uniformData());
}

/** WebGPU depthwise input gradient: vec4 channels, integer tap arithmetic (stock: scalar, float divisions per tap). */
export const webgpuDepthwiseBackpropInputFix: KernelFix = {
  name: 'webgpu:DepthwiseConv2dNativeBackpropInput',
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'webgpu',
  make: (stock) => (args) => depthwiseDx(args, 'none', stock),
};

/** Depthwise input gradient through a ReLU/ReLU6 given its output, in one dispatch (used by fusedInputOnlyConv2d). */
export const webgpuDepthwiseBackpropInputMaskedFix: KernelFix = {
  name: `webgpu:${DEPTHWISE_DX_MASKED_KERNEL}`,
  kernelName: DEPTHWISE_DX_MASKED_KERNEL,
  backendName: 'webgpu',
  make: () => (args) => {
    const mask = (args.attrs as { mask?: OutputMask } | undefined)?.mask ?? 'none';
    const stock = tf.getKernel(tf.DepthwiseConv2dNativeBackpropInput, 'webgpu');
    return depthwiseDx(args, mask, stock);
  },
};

/** Full-convolution input gradient through a ReLU/ReLU6 (or none) given its output, in one dispatch. */
export const webgpuConvBackpropInputMaskedFix: KernelFix = {
  name: `webgpu:${CONV_DX_MASKED_KERNEL}`,
  kernelName: CONV_DX_MASKED_KERNEL,
  backendName: 'webgpu',
  make: () => convBackpropInputMasked,
};

/**
 * The body of CnnvizConv2DBackpropInputMasked (mask from attrs, default 'none'), also half precision's
 * Conv2DBackpropInput. NHWC, no dilation, output channels a multiple of 4.
 */
export function convBackpropInputMasked(args: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { inputs, backend, attrs } = args as unknown as KernelArgs;
  const a = attrs as unknown as tf.Conv2DBackpropInputAttrs & { mask?: OutputMask };
  const mask = a.mask ?? 'none';
  const dy = inputs.dy as tf.TensorInfo;
  const filter = inputs.filter as tf.TensorInfo;
  const info = backpropInputInfo(a, filter);
  if (!isWebGPUBackend(backend) || info.outChannels % 4 !== 0)
    throw new Error('cnnviz: CnnvizConv2DBackpropInputMasked needs webgpu and output channels % 4 == 0');
  const program = new ConvBackpropInputProgram(
    { ...geometryOf(info), outChannels: info.outChannels },
    mask,
    webgpuShaderPrecision(backend, 'gradient'),
  );
  const ins = mask === 'none' ? [dy, filter] : [dy, filter, inputs.y as tf.TensorInfo];
  return backend.runWebGPUProgram(program, ins, 'float32');
}

/** `dy * act'(y)` in one dispatch (the composite is Greater, Less, LogicalAnd, Cast, Multiply). */
export const webgpuOutputMaskFix: KernelFix = {
  name: `webgpu:${OUTPUT_MASK_KERNEL}`,
  kernelName: OUTPUT_MASK_KERNEL,
  backendName: 'webgpu',
  make: () => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const mask = (attrs as { mask?: OutputMask } | undefined)?.mask ?? 'relu';
    const dy = inputs.dy as tf.TensorInfo;
    if (!isWebGPUBackend(backend) || mask === 'none')
      throw new Error('cnnviz: CnnvizOutputMask needs webgpu and a mask');
    const program = new OutputMaskProgram(dy.shape, mask);
    return backend.runWebGPUProgram(program, [dy, inputs.y as tf.TensorInfo], 'float32');
  },
};

/** WebGPU depthwise filter gradient as a workgroup reduction over positions (stock: one invocation per weight). */
export const webgpuDepthwiseBackpropFilterFix: KernelFix = {
  name: 'webgpu:DepthwiseConv2dNativeBackpropFilter',
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'webgpu',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
    const x = inputs.x as tf.TensorInfo;
    const { g, multiplier } = depthwiseGeometry(x.shape, a.filterShape, a.strides, a.pad, a.dimRoundingMode);
    if (!isWebGPUBackend(backend) || multiplier !== 1 || !noDilation(a.dilations)) {
      if (stock === undefined) throw new Error('cnnviz: no depthwise filter-gradient kernel for this case');
      return stock.kernelFunc(args);
    }
    const program = new DepthwiseBackpropFilterProgram(g);
    return backend.runWebGPUProgram(
      program,
      [x, inputs.dy as tf.TensorInfo],
      'float32',
      program.uniformData(),
    );
  },
};

/**
 * conv2d filter gradient as one matrix product per filter tap: dW[kh,kw] = patch(x, kh, kw)ᵀ · dy over all
 * batch positions, so the long reduction runs in tfjs's split-K matmul. Stock webgpu gives each filter weight one
 * invocation looping over every pixel: on MobileNetV2 that kernel alone is ~40% of a stock saliency step on
 * lavapipe, and far more on a real GPU where few invocations leave it idle.
 */
export function conv2dBackpropFilterByMatMul(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  return tf.tidy(() => {
    const {
      batchSize: n,
      inHeight,
      inWidth,
      inChannels: ci,
      outHeight: oh,
      outWidth: ow,
      outChannels: co,
    } = info;
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
    const top = info.padInfo.top;
    const left = info.padInfo.left;
    const dy2 = tf.reshape(dy, [n * oh * ow, co]);
    // Rows the strided taps reach beyond the input (padding), then crop what they never reach.
    const needH = (oh - 1) * sh + fh;
    const needW = (ow - 1) * sw + fw;
    const bottom = needH - inHeight - top;
    const right = needW - inWidth - left;
    let xp: tf.Tensor4D = x;
    if (top > 0 || left > 0 || bottom > 0 || right > 0) {
      xp = tf.pad(x, [
        [0, 0],
        [Math.max(0, top), Math.max(0, bottom)],
        [Math.max(0, left), Math.max(0, right)],
        [0, 0],
      ]);
    }
    // Offsets of tap (0,0) inside xp (negative padding = the first rows are skipped).
    const y0 = Math.max(0, top) - top;
    const x0 = Math.max(0, left) - left;
    const taps: tf.Tensor2D[] = [];
    for (let kh = 0; kh < fh; kh++) {
      for (let kw = 0; kw < fw; kw++) {
        const patch =
          fh === 1 && fw === 1 && sh === 1 && sw === 1 && xp.shape[1] === oh && xp.shape[2] === ow
            ? xp
            : tf.stridedSlice(
                xp,
                [0, y0 + kh, x0 + kw, 0],
                [n, y0 + kh + (oh - 1) * sh + 1, x0 + kw + (ow - 1) * sw + 1, ci],
                [1, sh, sw, 1],
              );
        taps.push(tf.matMul(tf.reshape(patch, [n * oh * ow, ci]), dy2, true, false));
      }
    }
    const stacked = taps.length === 1 ? taps[0] : tf.stack(taps);
    return tf.reshape(stacked, [fh, fw, ci, co]);
  });
}

/** WebGPU Conv2DBackpropFilter through matmuls (NHWC; NCHW goes to the stock kernel). */
export const webgpuConv2dBackpropFilterFix: KernelFix = {
  name: 'webgpu:Conv2DBackpropFilter',
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'webgpu',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    if (!isNHWC(a.dataFormat) && stock !== undefined) return stock.kernelFunc(args);
    const x = inputs.x as tf.TensorInfo;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      a.filterShape,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    );
    return runOps(backend, () =>
      conv2dBackpropFilterByMatMul(
        wrap<tf.Rank.R4>(backend, x),
        wrap<tf.Rank.R4>(backend, inputs.dy as tf.TensorInfo),
        info,
      ),
    );
  },
};

/** Every webgpu fix, in the order registerKernelFixes('webgpu') installs them. */
export const webgpuKernelFixes: KernelFix[] = [
  webgpuConv2dBackpropFilterFix,
  webgpuDepthwiseBackpropInputFix,
  webgpuDepthwiseBackpropFilterFix,
  webgpuOutputMaskFix,
  webgpuDepthwiseBackpropInputMaskedFix,
  webgpuConvBackpropInputMaskedFix,
  webgpuCounterNormalFix,
  webgpuReduceChannelsFix,
];
