import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs, isNHWC, noDilation } from './kernel-util.js';
import { installFix, type KernelFix, uninstallFix } from './registry.js';
import {
  ConvForwardProgram,
  DepthwiseForwardProgram,
  type ForwardActivation,
} from './webgpu-conv-forward.js';
import { convBackpropInputMasked } from './webgpu-kernel-fixes.js';
import {
  type DeviceLike,
  deviceOf,
  type Precision,
  setF16Device,
  webgpuShaderPrecision,
} from './webgpu-precision.js';
import { F16_MARK, geometryOf, isWebGPUBackend } from './webgpu-programs.js';

export {
  activePrecision,
  F16_ACCUMULATE_FLAG,
  F16_GRADIENTS_FLAG,
  type Precision,
  webgpuShaderPrecision,
} from './webgpu-precision.js';

const HOOKED = Symbol.for('cnnviz.f16ShaderHook');

/**
 * `enable f16;` must be the first thing in a WGSL module, but tfjs's makeShader writes its own declarations before a
 * program's code: the device's createShaderModule puts it first for the modules our f16 programs marked.
 */
function hookShaderModules(device: DeviceLike): void {
  const d = device as DeviceLike & { [HOOKED]?: true };
  if (d[HOOKED]) return;
  const create = device.createShaderModule.bind(device);
  d.createShaderModule = (descriptor) =>
    create(
      descriptor.code.includes(F16_MARK)
        ? { ...descriptor, code: `enable f16;\n${descriptor.code}` }
        : descriptor,
    );
  d[HOOKED] = true;
}

const ACTIVATIONS: readonly string[] = ['linear', 'relu', 'relu6'];

/** A forward conv kernel that runs cnnviz's f16 program while half precision is on, else the stock kernel. */
function forwardFix(kernelName: string, depthwise: boolean, fused: boolean): KernelFix {
  return {
    name: `webgpu:${kernelName}(float16)`,
    kernelName,
    backendName: 'webgpu',
    make: (stock) => (args) => {
      const { inputs, backend, attrs } = args as unknown as KernelArgs;
      const a = attrs as unknown as tf.FusedConv2DAttrs;
      const x = inputs.x as tf.TensorInfo;
      const filter = inputs.filter as tf.TensorInfo;
      const bias = fused ? (inputs.bias as tf.TensorInfo | undefined) : undefined;
      const activation = (fused ? (a.activation ?? 'linear') : 'linear') as ForwardActivation;
      const precision = webgpuShaderPrecision(backend);
      const supported =
        isWebGPUBackend(backend) &&
        precision.compute === 'float16' &&
        x.dtype === 'float32' &&
        isNHWC(a.dataFormat) &&
        noDilation(a.dilations) &&
        ACTIVATIONS.includes(activation) &&
        (!fused || inputs.preluActivationWeights == null) &&
        (depthwise ? filter.shape[3] === 1 : filter.shape[3] % 4 === 0);
      if (!supported || !isWebGPUBackend(backend)) {
        if (stock === undefined) throw new Error(`cnnviz: no stock ${kernelName} kernel on webgpu`);
        return stock.kernelFunc(args);
      }
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filter.shape as [number, number, number, number],
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
        depthwise,
      );
      const g = geometryOf(info);
      const program = depthwise
        ? new DepthwiseForwardProgram(g, bias !== undefined, activation, precision)
        : new ConvForwardProgram(
            { ...g, outChannels: info.outChannels },
            bias !== undefined,
            activation,
            precision,
          );
      const ins = bias !== undefined ? [x, filter, bias] : [x, filter];
      return backend.runWebGPUProgram(program, ins, 'float32');
    },
  };
}

/** tfjs's Conv2DBackpropInput (a 1x1 conv's input gradient, or any unfused conv's) as cnnviz's f16 program. */
const conv2dBackpropInputF16Fix: KernelFix = {
  name: `webgpu:${tf.Conv2DBackpropInput}(float16)`,
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'webgpu',
  make: (stock) => (args) => {
    const { inputs, backend, attrs } = args as unknown as KernelArgs;
    const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
    const filter = inputs.filter as tf.TensorInfo;
    const precision = webgpuShaderPrecision(backend, 'gradient');
    if (
      !isWebGPUBackend(backend) ||
      precision.compute !== 'float16' ||
      !isNHWC(a.dataFormat) ||
      filter.shape[3] % 4 !== 0
    ) {
      if (stock === undefined) throw new Error('cnnviz: no stock Conv2DBackpropInput kernel on webgpu');
      return stock.kernelFunc(args);
    }
    return convBackpropInputMasked(args);
  },
};

/**
 * The stock kernels replaced while half precision is on: the forward convolutions and the full convolution's input
 * gradient (cnnviz's own depthwise and masked input-gradient kernels read the precision themselves).
 */
export const webgpuFloat16Fixes: KernelFix[] = [
  forwardFix('FusedConv2D', false, true),
  forwardFix('FusedDepthwiseConv2D', true, true),
  forwardFix(tf.Conv2D, false, false),
  forwardFix(tf.DepthwiseConv2dNative, true, false),
  conv2dBackpropInputF16Fix,
];

/** Puts the stock forward kernels back and the webgpu programs to f32. */
export function resetWebgpuPrecision(): void {
  for (const f of webgpuFloat16Fixes) uninstallFix(f.kernelName, f.backendName);
  setF16Device(undefined);
}

/**
 * Sets the arithmetic of cnnviz's WebGPU convolution kernels on the active backend. 'float16' needs the webgpu
 * backend on a device created with the `shader-f16` feature (`@cnnviz/node` and `@cnnviz/web` request it where the
 * adapter offers it): convolution and depthwise forward passes (bias and ReLU/ReLU6 fused) and cnnviz's input
 * gradient kernels then round their operands to f16 and multiply in f16, accumulating as F16_ACCUMULATE_FLAG says.
 * Tensors stay float32 in storage (TF.js 4.22 has no f16 tensors); matrix products (dense layers) stay f32.
 * Returns the precision now in effect and why: float32 where float16 is not possible.
 */
export function setWebgpuPrecision(precision: Precision): { precision: Precision; why: string } {
  resetWebgpuPrecision();
  if (precision === 'float32') return { precision, why: 'float32 (the default)' };
  const name = tf.getBackend();
  const backend = tf.backend();
  const device = deviceOf(backend);
  if (name !== 'webgpu' || !isWebGPUBackend(backend) || device === undefined) {
    return {
      precision: 'float32',
      why: `float16 requested, but backend "${name}" has no half-precision path (cnnviz has one on webgpu with shader-f16)`,
    };
  }
  if (!device.features.has('shader-f16')) {
    return {
      precision: 'float32',
      why: "float16 requested, but the WebGPU device lacks 'shader-f16' (the adapter does not offer it, or the device was created without it)",
    };
  }
  hookShaderModules(device);
  setF16Device(device);
  for (const f of webgpuFloat16Fixes) installFix(f);
  const acc = webgpuShaderPrecision(backend).accumulate;
  return {
    precision: 'float16',
    why: `shader-f16: convolution and depthwise forward (bias and activation fused) and input-gradient kernels multiply in f16, ${acc} accumulation; tensors stay float32 in storage, matrix products float32`,
  };
}
