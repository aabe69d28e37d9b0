import * as tf from '@tensorflow/tfjs-core';
import { type KernelFix } from './registry.js';
import { isWebGPUBackend, type ProgramUniform, type WebGPUProgramLike } from './webgpu-programs.js';

/** Kernel cnnviz registers on webgpu: counter-based Gaussian noise (attrs: { shape, seed, offset }). */
export const COUNTER_NORMAL_KERNEL = 'CnnvizCounterNormal';

// Element i's value depends only on (seed, offset + i): a PCG-style integer hash feeds Box-Muller. The same
// integer arithmetic runs in WGSL (u32 wraps) and in JS (Math.imul), so every backend draws the same noise up to
// float rounding of log/cos/sin, and a GPU generates it in place: SmoothGrad-50 on a 224px image needs 7.5 M
// normals, ~1 s in a sequential JS generator plus the upload, inside a 150 ms budget.

function hash(x: number): number {
  const v = (Math.imul(x >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((v >>> ((v >>> 28) + 4)) ^ v) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

function uniforms01(seed: number, pair: number): [number, number] {
  const a = hash((hash(seed >>> 0) ^ (Math.imul(pair >>> 0, 2) >>> 0)) >>> 0);
  const b = hash((a ^ 0x9e3779b9) >>> 0);
  // (0, 1]: log never sees 0.
  return [((a >>> 8) + 1) / 16777216, ((b >>> 8) + 1) / 16777216];
}

/** The JS generator, used on every backend but webgpu. */
function counterNormalValues(n: number, seed: number, offset: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const k = offset + i;
    const [u1, u2] = uniforms01(seed, k >>> 1);
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = (k & 1) === 0 ? r * Math.cos(2 * Math.PI * u2) : r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

class CounterNormalProgram implements WebGPUProgramLike {
  variableNames: string[] = [];
  outputShape: number[];
  shaderKey = 'cnnvizCounterNormal';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [128, 1, 1];
  size = true;
  uniforms = 'seed : u32, offset : u32,';

  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / 128), 1, 1];
  }

  getUserCode(): string {
    return `
      fn cnnvizHash(x : u32) -> u32 {
        let v = x * 747796405u + 2891336453u;
        let w = ((v >> ((v >> 28u) + 4u)) ^ v) * 277803737u;
        return (w >> 22u) ^ w;
      }
      fn main(index : i32) {
        if (index < uniforms.size) {
          let k = uniforms.offset + u32(index);
          let a = cnnvizHash(cnnvizHash(uniforms.seed) ^ ((k >> 1u) * 2u));
          let b = cnnvizHash(a ^ 0x9e3779b9u);
          let u1 = f32((a >> 8u) + 1u) / 16777216.0;
          let u2 = f32((b >> 8u) + 1u) / 16777216.0;
          let r = sqrt(-2.0 * log(u1));
          let t = 6.283185307179586 * u2;
          result[index] = select(r * sin(t), r * cos(t), (k & 1u) == 0u);
        }
      }`;
  }
}

export interface CounterNormalOptions {
  mean?: number;
  std?: number;
  /**
   * Index of the first element in the seed's stream: element i of the result is the stream's element
   * `offset + i`, so chunks of a large draw concatenate to the one-shot draw.
   */
  offset?: number;
}

/**
 * Gaussian noise that is a pure function of (seed, element index): the same values on every backend (up to
 * float rounding), generated on the GPU on webgpu (`registerKernelFixes('webgpu')` installs the kernel) and in JS
 * elsewhere. For batched SmoothGrad-style sampling where a sequential generator would dominate the GPU time.
 */
export function counterNormal(shape: number[], seed: number, options: CounterNormalOptions = {}): tf.Tensor {
  const { mean = 0, std = 1, offset = 0 } = options;
  const n = shape.reduce((a, b) => a * b, 1);
  const s = Math.floor(seed) >>> 0;
  const o = Math.floor(offset) >>> 0;
  return tf.tidy(() => {
    const unit = tf.getKernel(COUNTER_NORMAL_KERNEL, tf.getBackend())
      ? (tf.engine().runKernel(COUNTER_NORMAL_KERNEL, {}, {
          shape,
          seed: s,
          offset: o,
        } as unknown as tf.NamedAttrMap) as tf.Tensor)
      : tf.tensor(counterNormalValues(n, s, o), shape);
    if (mean === 0 && std === 1) return unit;
    return tf.add(tf.mul(unit, std), mean);
  });
}

/** The webgpu kernel behind `counterNormal`. */
export const webgpuCounterNormalFix: KernelFix = {
  name: `webgpu:${COUNTER_NORMAL_KERNEL}`,
  kernelName: COUNTER_NORMAL_KERNEL,
  backendName: 'webgpu',
  make: () => (args) => {
    const { backend, attrs } = args as unknown as {
      backend: tf.KernelBackend;
      attrs: { shape: number[]; seed: number; offset: number };
    };
    if (!isWebGPUBackend(backend)) throw new Error('cnnviz: CnnvizCounterNormal needs webgpu');
    const program = new CounterNormalProgram(attrs.shape);
    const uniforms: ProgramUniform[] = [
      { type: 'uint32', data: [attrs.seed] },
      { type: 'uint32', data: [attrs.offset] },
    ];
    return backend.runWebGPUProgram(program, [], 'float32', uniforms);
  },
};
