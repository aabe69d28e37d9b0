import type * as tf from '@tensorflow/tfjs-core';

// WGSL programs run through tfjs-backend-webgpu's `runWebGPUProgram` (4.22). The backend generates the buffer
// and uniform declarations from `variableNames`, `outputComponent` and `uniforms`, then appends `getUserCode()`;
// `main(index)` is called once per invocation with the flat global index. core may not import the backend
// package, so the few structures used are typed here.

/** The part of tfjs-backend-webgpu's program interface these programs fill in. */
export interface WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[]; y?: number[]; z?: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  size?: boolean;
  outputComponent?: number;
  variableComponents?: number[];
  uniforms?: string;
  getUserCode(): string;
}

export interface ProgramUniform {
  type: 'int32' | 'float32' | 'uint32';
  data: number[];
}

/** The WebGPU backend's method that compiles (once per shader key) and dispatches a program. */
export interface WebGPUBackendLike extends tf.KernelBackend {
  runWebGPUProgram(
    program: WebGPUProgramLike,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: ProgramUniform[],
  ): tf.TensorInfo;
}

export function isWebGPUBackend(backend: tf.KernelBackend): backend is WebGPUBackendLike {
  return typeof (backend as Partial<WebGPUBackendLike>).runWebGPUProgram === 'function';
}

/** Which activation's derivative is applied to `dy` before it is used, computed from the activation's OUTPUT. */
export type OutputMask = 'none' | 'relu' | 'relu6';

function maskExpr(mask: OutputMask, y: string, t: string): string {
  if (mask === 'relu') return `${y} > ${t}(0.0)`;
  // 0 < y < 6 on ReLU6's output is "0 < x < 6" on its input; stock's gradient (0 < x <= 6) differs at x == 6 only.
  if (mask === 'relu6') return `(${y} > ${t}(0.0)) & (${y} < ${t}(6.0))`;
  return '';
}

export function flatDispatch(n: number, workgroup: number): [number, number, number] {
  return [Math.ceil(n / workgroup), 1, 1];
}

/**
 * How a program does its arithmetic. 'float32' is tfjs's. 'float16' (device feature shader-f16) rounds the
 * operands it reads from f32 storage to f16 and multiplies in f16; `accumulate` says whether the running sums are
 * f16 or f32. Storage stays f32: TF.js 4.22 has no f16 tensors.
 */
export interface ShaderPrecision {
  compute: 'float32' | 'float16';
  accumulate: 'float32' | 'float16';
}

export const FLOAT32: ShaderPrecision = { compute: 'float32', accumulate: 'float32' };

/** A comment the f16 shader-module hook (webgpu-float16.ts) looks for to put `enable f16;` first in the module. */
export const F16_MARK = '// cnnviz:enable-f16';

/** WGSL snippets for a precision: the operand type `h`, the accumulator type `a`, and a shader-key part. */
export function precisionCode(p: ShaderPrecision) {
  const f16 = p.compute === 'float16';
  const h = f16 ? 'f16' : 'f32';
  const a = f16 && p.accumulate === 'float16' ? 'f16' : 'f32';
  return {
    f16,
    /** Prepended to the user code (marks the module for `enable f16;`). */
    header: f16 ? F16_MARK : '',
    key: f16 ? `_h${a === 'f16' ? 'h' : 'f'}` : '',
    /** `expr` (an f32 value, scalar or vec4) as an operand. */
    op: (expr: string, vec: boolean) => (f16 ? `${vec ? 'vec4<f16>' : 'f16'}(${expr})` : expr),
    /** A product or partial sum in the operand type, as an addend of the accumulator. */
    acc: (expr: string, vec: boolean) => (h === a ? expr : `${vec ? `vec4<${a}>` : a}(${expr})`),
    accType: (vec: boolean) => (vec ? `vec4<${a}>` : a),
    /** The accumulator back to f32 storage. */
    out: (expr: string, vec: boolean) => (a === 'f32' ? expr : `${vec ? 'vec4<f32>' : 'f32'}(${expr})`),
  };
}

/**
 * WGSL that splits the flat invocation `index` over an NHWC tensor [batch, height, width, channels] (channels counted
 * in the program's vector units) into `let` bindings named `c`, `x`, `y` and `b`; sizes compiled in.
 */
export function nhwcIndex(
  c: string,
  x: string,
  y: string,
  channels: number,
  width: number,
  height: number,
): string {
  return `let ${c} = index % ${channels};
          var rest = index / ${channels};
          let ${x} = rest % ${width};
          rest = rest / ${width};
          let ${y} = rest % ${height};
          let b = rest / ${height};`;
}

/**
 * WGSL for one filter tap of a transposed convolution, inside the tap loop: input index `i` (+ padding `pad`) minus
 * tap `k` reaches output index `o` = (i + pad - k) / s when that is a whole number in [0, out); else `continue`.
 * With the geometry compiled in, stride 1 needs no division and other strides divide by a constant.
 */
function tapCode(i: string, pad: number, k: string, s: number, out: number, o: string): string {
  return s === 1
    ? `let ${o} = ${i} + ${pad} - ${k}; if (${o} < 0 || ${o} >= ${out}) { continue; }`
    : `let t${o} = ${i} + ${pad} - ${k}; if (t${o} < 0 || t${o} % ${s} != 0) { continue; }
           let ${o} = t${o} / ${s}; if (${o} >= ${out}) { continue; }`;
}

/** `dy * act'(y)` for ReLU / ReLU6 given the activation output `y`: one dispatch instead of four or five. */
export class OutputMaskProgram implements WebGPUProgramLike {
  variableNames = ['dy', 'y'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [128, 1, 1];
  size = true;
  outputComponent: number;

  constructor(
    shape: number[],
    private readonly mask: Exclude<OutputMask, 'none'>,
  ) {
    this.outputShape = shape;
    const n = shape.reduce((a, b) => a * b, 1);
    this.outputComponent = n % 4 === 0 ? 4 : 1;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = flatDispatch(n / this.outputComponent, this.workgroupSize[0]);
    this.shaderKey = `cnnvizOutputMask_${mask}_${this.outputComponent}`;
  }

  getUserCode(): string {
    const t = this.outputComponent === 4 ? 'vec4<f32>' : 'f32';
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          let yv = y[index];
          result[index] = select(${t}(0.0), dy[index], ${maskExpr(this.mask, 'yv', t)});
        }
      }`;
  }
}

/** Geometry of a depthwise convolution (channel multiplier 1, no dilation), NHWC. */
export interface DepthwiseGeometry {
  batch: number;
  inH: number;
  inW: number;
  channels: number;
  outH: number;
  outW: number;
  filterH: number;
  filterW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

function depthwiseUniforms(g: DepthwiseGeometry, components: number): ProgramUniform[] {
  return [
    g.inH,
    g.inW,
    g.channels / components,
    g.outH,
    g.outW,
    g.filterH,
    g.filterW,
    g.strideH,
    g.strideW,
    g.padTop,
    g.padLeft,
  ].map((v) => ({ type: 'int32', data: [v] }));
}

/** The programs' geometry from tfjs's Conv2DInfo (the batch, spatial sizes, filter, strides and padding). */
export function geometryOf(info: tf.backend_util.Conv2DInfo): DepthwiseGeometry {
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    channels: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    filterH: info.filterHeight,
    filterW: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** A shader key part for a geometry compiled into the shader (the batch is not: it only bounds the index). */
export function geometryKey(g: DepthwiseGeometry): string {
  const { inH, inW, channels, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft } = g;
  return [inH, inW, channels, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft].join('_');
}

const DEPTHWISE_UNIFORMS =
  'inH : i32, inW : i32, cv : i32, outH : i32, outW : i32, fh : i32, fw : i32, sh : i32, sw : i32, padT : i32, padL : i32,';

/**
 * dx of a depthwise convolution, four channels per invocation (vec4 loads) where C % 4 == 0, looping over the
 * filter taps that reach each input pixel for any stride; optionally applies the output activation's mask to
 * dy on the fly (the forward was conv + bias + ReLU6 in one kernel). Stock tfjs runs this as one scalar
 * invocation per element with float divisions per tap, several times slower than the forward convolution.
 * The geometry is compiled into the shader (one shader per layer shape, compiled once and cached by its key):
 * with uniforms every index needed integer divisions by unknown divisors, which made this kernel 7x slower than
 * the forward depthwise conv on lavapipe; with constants they become shifts and multiplies, and stride-1 taps
 * need no division at all.
 */
export class DepthwiseBackpropInputProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  outputComponent: number;
  uniforms = DEPTHWISE_UNIFORMS;

  constructor(
    readonly geometry: DepthwiseGeometry,
    private readonly mask: OutputMask,
    private readonly precision: ShaderPrecision = FLOAT32,
  ) {
    const g = geometry;
    this.variableNames = mask === 'none' ? ['dy', 'W'] : ['dy', 'W', 'y'];
    this.outputShape = [g.batch, g.inH, g.inW, g.channels];
    this.outputComponent = g.channels % 4 === 0 ? 4 : 1;
    this.dispatchLayout = { x: [0, 1, 2, 3] };
    this.dispatch = flatDispatch(
      (g.batch * g.inH * g.inW * g.channels) / this.outputComponent,
      this.workgroupSize[0],
    );
    this.shaderKey = `cnnvizDepthwiseDx_${mask}_${this.outputComponent}_${geometryKey(g)}${precisionCode(precision).key}`;
  }

  uniformData(): ProgramUniform[] {
    return depthwiseUniforms(this.geometry, this.outputComponent);
  }

  getUserCode(): string {
    const g = this.geometry;
    const vec = this.outputComponent === 4;
    const t = vec ? 'vec4<f32>' : 'f32';
    const p = precisionCode(this.precision);
    const cv = g.channels / this.outputComponent;
    const load =
      this.mask === 'none'
        ? 'let g = dy[o];'
        : `let yv = y[o]; let g = select(${t}(0.0), dy[o], ${maskExpr(this.mask, 'yv', t)});`;
    const w = `W[(kh * ${g.filterW} + kw) * ${cv} + c]`;
    return `${p.header}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${nhwcIndex('c', 'ix', 'iy', cv, g.inW, g.inH)}
          var acc = ${p.accType(vec)}(0.0);
          for (var kh = 0; kh < ${g.filterH}; kh++) {
            ${tapCode('iy', g.padTop, 'kh', g.strideH, g.outH, 'oy')}
            for (var kw = 0; kw < ${g.filterW}; kw++) {
              ${tapCode('ix', g.padLeft, 'kw', g.strideW, g.outW, 'ox')}
              let o = ((b * ${g.outH} + oy) * ${g.outW} + ox) * ${cv} + c;
              ${load}
              acc = acc + ${p.acc(`${p.op('g', vec)} * ${p.op(w, vec)}`, vec)};
            }
          }
          result[index] = ${p.out('acc', vec)};
        }
      }`;
  }
}

/**
 * dW of a depthwise convolution: one workgroup per filter tap and channel group, whose invocations split the
 * batch * output positions and reduce in workgroup memory. Stock tfjs gives each filter weight ONE invocation
 * that loops over every position (e.g. 288 invocations each summing 12,544 products), leaving a GPU idle.
 */
export class DepthwiseBackpropFilterProgram implements WebGPUProgramLike {
  variableNames = ['x', 'dy'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [128, 1, 1];
  outputComponent: number;
  uniforms = DEPTHWISE_UNIFORMS + ' batch : i32,';

  constructor(readonly geometry: DepthwiseGeometry) {
    const g = geometry;
    this.outputShape = [g.filterH, g.filterW, g.channels, 1];
    this.outputComponent = g.channels % 4 === 0 ? 4 : 1;
    this.dispatchLayout = { x: [0, 1, 2, 3] };
    // One workgroup per output element (vec4); dispatch is in workgroups, so this is the element count.
    this.dispatch = [(g.filterH * g.filterW * g.channels) / this.outputComponent, 1, 1];
    this.shaderKey = `cnnvizDepthwiseDw_${this.outputComponent}`;
  }

  uniformData(): ProgramUniform[] {
    return [
      ...depthwiseUniforms(this.geometry, this.outputComponent),
      { type: 'int32', data: [this.geometry.batch] },
    ];
  }

  getUserCode(): string {
    const t = this.outputComponent === 4 ? 'vec4<f32>' : 'f32';
    const wg = this.workgroupSize[0];
    return `
      var<workgroup> partial : array<${t}, ${wg}>;
      fn main(_unused : i32) {
        // The backend may fold a large dispatch into 2-D/3-D; rebuild the flat workgroup index.
        let out = i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
        let c = out % uniforms.cv;
        let tap = out / uniforms.cv;
        let kw = tap % uniforms.fw;
        let kh = tap / uniforms.fw;
        let positions = uniforms.batch * uniforms.outH * uniforms.outW;
        var acc = ${t}(0.0);
        for (var p = i32(localIndex); p < positions; p += ${wg}) {
          let ox = p % uniforms.outW;
          let rest = p / uniforms.outW;
          let oy = rest % uniforms.outH;
          let b = rest / uniforms.outH;
          let iy = oy * uniforms.sh + kh - uniforms.padT;
          let ix = ox * uniforms.sw + kw - uniforms.padL;
          if (iy >= 0 && iy < uniforms.inH && ix >= 0 && ix < uniforms.inW) {
            acc = acc + x[((b * uniforms.inH + iy) * uniforms.inW + ix) * uniforms.cv + c] *
                dy[p * uniforms.cv + c];
          }
        }
        partial[localIndex] = acc;
        workgroupBarrier();
        for (var s = ${wg / 2}u; s > 0u; s = s >> 1u) {
          if (localIndex < s) {
            partial[localIndex] = partial[localIndex] + partial[localIndex + s];
          }
          workgroupBarrier();
        }
        if (localIndex == 0u && out < uniforms.outShape[0] * uniforms.outShape[1] * uniforms.cv) {
          result[out] = partial[0];
        }
      }`;
  }
}

/** Geometry of a full convolution's input gradient (no dilation; a dilated filter arrives zero-inserted), NHWC. */
export interface ConvGeometry extends DepthwiseGeometry {
  outChannels: number;
}

/**
 * dx of a full convolution, one input element per invocation, the output channels read four at a time (vec4 of
 * dy, y and the filter row W[kh,kw,ci,:]), only the taps that reach the pixel visited, the geometry compiled in,
 * and optionally the output activation's mask applied to dy on the fly. Stock tfjs (its default naive kernel)
 * reads scalars with float divisions per tap, and the mask is a separate pass: on MobileNetV2's stem (3x3,
 * stride 2, 3 -> 32 channels) that single dispatch was a tenth of a saliency step on lavapipe.
 */
export class ConvBackpropInputProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  variableComponents: number[];
  outputComponent: number;

  constructor(
    readonly geometry: ConvGeometry,
    private readonly mask: OutputMask,
    private readonly precision: ShaderPrecision = FLOAT32,
  ) {
    const g = geometry;
    this.variableNames = mask === 'none' ? ['dy', 'W'] : ['dy', 'W', 'y'];
    this.variableComponents = this.variableNames.map(() => 4);
    // Four input channels per invocation where they divide by 4: each dy vector read serves four filter rows.
    this.outputComponent = g.channels % 4 === 0 ? 4 : 1;
    this.outputShape = [g.batch, g.inH, g.inW, g.channels];
    this.dispatchLayout = { x: [0, 1, 2, 3] };
    this.dispatch = flatDispatch(
      (g.batch * g.inH * g.inW * g.channels) / this.outputComponent,
      this.workgroupSize[0],
    );
    this.shaderKey = `cnnvizConvDx_${mask}_${g.outChannels}_${geometryKey(g)}${precisionCode(precision).key}`;
  }

  getUserCode(): string {
    const g = this.geometry;
    const p = precisionCode(this.precision);
    const cov = g.outChannels / 4;
    const vec = this.outputComponent === 4;
    const load =
      this.mask === 'none'
        ? 'let d = dy[o + k];'
        : `let yv = y[o + k]; let d = select(vec4<f32>(0.0), dy[o + k], ${maskExpr(this.mask, 'yv', 'vec4<f32>')});`;
    const row = (j: number) => p.op(`W[wrow + ${j * cov} + k]`, true);
    const add = vec
      ? `vec4<${p.f16 ? 'f16' : 'f32'}>(dot(dh, ${row(0)}), dot(dh, ${row(1)}), dot(dh, ${row(2)}), dot(dh, ${row(3)}))`
      : `dot(dh, ${row(0)})`;
    // dy, y and W are read as vec4 (their last axis, the output channels, is a multiple of 4).
    return `${p.header}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${nhwcIndex('cv', 'ix', 'iy', g.channels / this.outputComponent, g.inW, g.inH)}
          let ci = cv * ${this.outputComponent};
          var acc = ${p.accType(vec)}(0.0);
          for (var kh = 0; kh < ${g.filterH}; kh++) {
            ${tapCode('iy', g.padTop, 'kh', g.strideH, g.outH, 'oy')}
            for (var kw = 0; kw < ${g.filterW}; kw++) {
              ${tapCode('ix', g.padLeft, 'kw', g.strideW, g.outW, 'ox')}
              let o = ((b * ${g.outH} + oy) * ${g.outW} + ox) * ${cov};
              let wrow = ((kh * ${g.filterW} + kw) * ${g.channels} + ci) * ${cov};
              for (var k = 0; k < ${cov}; k++) {
                ${load}
                let dh = ${p.op('d', true)};
                acc = acc + ${p.acc(add, vec)};
              }
            }
          }
          result[index] = ${p.out('acc', vec)};
        }
      }`;
  }
}
