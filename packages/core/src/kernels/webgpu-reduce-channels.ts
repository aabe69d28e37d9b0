import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from '../errors.js';
import { type KernelFix } from './registry.js';
import { isWebGPUBackend, type WebGPUProgramLike } from './webgpu-programs.js';

/** Kernel cnnviz registers on webgpu: a reduction over the last axis (attrs: { op: 'maxAbs' | 'sum' }). */
export const REDUCE_CHANNELS_KERNEL = 'CnnvizReduceChannels';

/** How `reduceChannels` combines the channels of a pixel. */
export type ChannelReduction = 'maxAbs' | 'sum';

/**
 * One invocation per pixel looping over its few channels. Stock tfjs reduces with one 64-wide workgroup per
 * output element and a shared-memory tree: for the 3 channels of an image gradient that is 64 invocations (and
 * barriers) for 3 values — on lavapipe the Max of a 224px saliency map took longer than all 17 depthwise convs.
 */
class ReduceChannelsProgram implements WebGPUProgramLike {
  variableNames = ['x'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  private readonly channels: number;

  constructor(
    inShape: number[],
    private readonly op: ChannelReduction,
  ) {
    this.outputShape = inShape.slice(0, -1);
    const channels = inShape[inShape.length - 1];
    const n = this.outputShape.reduce((a, b) => a * b, 1);
    this.dispatchLayout = { x: this.outputShape.map((_, i) => i) };
    this.dispatch = [Math.ceil(n / this.workgroupSize[0]), 1, 1];
    this.shaderKey = `cnnvizReduceChannels_${op}_${channels}`;
    this.channels = channels;
  }

  getUserCode(): string {
    const c = this.channels;
    const init = this.op === 'maxAbs' ? 'abs(x[base])' : 'x[base]';
    // NaN propagates as in tf.max (max() of WGSL may drop it).
    const step =
      this.op === 'maxAbs'
        ? 'let v = abs(x[base + k]); if (isnan(v) || v > acc) { acc = v; }'
        : 'acc = acc + x[base + k];';
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let base = index * ${c};
          var acc = ${init};
          if (isnan(acc)) { result[index] = acc; return; }
          for (var k = 1; k < ${c}; k++) {
            ${step}
            ${this.op === 'maxAbs' ? 'if (isnan(acc)) { break; }' : ''}
          }
          result[index] = acc;
        }
      }`;
  }
}

/**
 * `[..., C]` → `[...]`: max |x| over the last axis ('maxAbs', Simonyan et al.'s saliency map) or its sum
 * ('sum'). One dispatch on webgpu (`registerKernelFixes('webgpu')` installs the kernel); tf.max/tf.sum elsewhere.
 */
export function reduceChannels(x: tf.Tensor, op: ChannelReduction): tf.Tensor {
  if (op !== 'maxAbs' && op !== 'sum')
    throw new CnnvizError('BAD_OPTION', `op must be 'maxAbs' or 'sum', got '${String(op)}'`);
  if (
    x.rank >= 1 &&
    x.dtype === 'float32' &&
    x.shape[x.rank - 1] > 0 &&
    tf.getKernel(REDUCE_CHANNELS_KERNEL, tf.getBackend())
  ) {
    return tf
      .engine()
      .runKernel(REDUCE_CHANNELS_KERNEL, { x }, { op } as unknown as tf.NamedAttrMap) as tf.Tensor;
  }
  return tf.tidy(() => (op === 'maxAbs' ? tf.max(tf.abs(x), -1) : tf.sum(x, -1)));
}

/** The webgpu kernel behind `reduceChannels`. */
export const webgpuReduceChannelsFix: KernelFix = {
  name: `webgpu:${REDUCE_CHANNELS_KERNEL}`,
  kernelName: REDUCE_CHANNELS_KERNEL,
  backendName: 'webgpu',
  make: () => (args) => {
    const { inputs, backend, attrs } = args as unknown as {
      inputs: { x: tf.TensorInfo };
      backend: tf.KernelBackend;
      attrs: { op: ChannelReduction };
    };
    if (!isWebGPUBackend(backend)) throw new Error('cnnviz: CnnvizReduceChannels needs webgpu');
    const program = new ReduceChannelsProgram(inputs.x.shape, attrs.op);
    return backend.runWebGPUProgram(program, [inputs.x], 'float32');
  },
};
