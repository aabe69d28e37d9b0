import {
  type ConvGeometry,
  type DepthwiseGeometry,
  flatDispatch,
  geometryKey,
  nhwcIndex,
  precisionCode,
  type ShaderPrecision,
  type WebGPUProgramLike,
} from './webgpu-programs.js';

/** The activations the forward programs apply in the same dispatch (the ones cnnviz's fused convs use). */
export type ForwardActivation = 'linear' | 'relu' | 'relu6';

function activationCode(activation: ForwardActivation, v: string, t: string): string {
  if (activation === 'relu') return `${v} = max(${v}, ${t}(0.0));`;
  if (activation === 'relu6') return `${v} = clamp(${v}, ${t}(0.0), ${t}(6.0));`;
  return '';
}

/** WGSL looping over the filter taps that land inside the input for output pixel (oy, ox): `body` sees iy, ix. */
function forwardTaps(g: DepthwiseGeometry, body: string): string {
  return `for (var kh = 0; kh < ${g.filterH}; kh++) {
            let iy = oy * ${g.strideH} + kh - ${g.padTop};
            if (iy < 0 || iy >= ${g.inH}) { continue; }
            for (var kw = 0; kw < ${g.filterW}; kw++) {
              let ix = ox * ${g.strideW} + kw - ${g.padLeft};
              if (ix < 0 || ix >= ${g.inW}) { continue; }
              ${body}
            }
          }`;
}

/**
 * Forward convolution + bias + activation, NHWC, no dilation, output channels a multiple of 4: one invocation per
 * output pixel and group of four output channels, the filter taps and input channels looped (input channels four at
 * a time where their count is a multiple of 4), the geometry compiled in. Written for the half-precision path, where
 * operands are rounded to f16 as they are read and multiplied in f16: tfjs's own conv and matmul programs are f32
 * only. In f32 it computes what tfjs's FusedConv2D computes.
 */
export class ConvForwardProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size: boolean;
  outputComponent = 4;
  variableComponents: number[];
  /** Output pixels per invocation: 4 for a 1x1 stride-1 unpadded conv (a matrix product), else 1. */
  private readonly rows: number;

  constructor(
    readonly geometry: ConvGeometry,
    private readonly hasBias: boolean,
    private readonly activation: ForwardActivation,
    private readonly precision: ShaderPrecision,
  ) {
    const g = geometry;
    this.variableNames = hasBias ? ['x', 'W', 'bias'] : ['x', 'W'];
    const xc = g.channels % 4 === 0 ? 4 : 1;
    this.variableComponents = hasBias ? [xc, 4, 4] : [xc, 4];
    this.outputShape = [g.batch, g.outH, g.outW, g.outChannels];
    this.dispatchLayout = { x: [0, 1, 2, 3] };
    const matrix =
      xc === 4 &&
      g.filterH === 1 &&
      g.filterW === 1 &&
      g.strideH === 1 &&
      g.strideW === 1 &&
      g.padTop === 0 &&
      g.padLeft === 0 &&
      g.outH === g.inH &&
      g.outW === g.inW;
    this.rows = matrix ? 4 : 1;
    // The four-row variant bounds its own rows (its invocations do not map one to one onto output vectors).
    this.size = !matrix;
    const pixels = g.batch * g.outH * g.outW;
    this.dispatch = flatDispatch(Math.ceil(pixels / this.rows) * (g.outChannels / 4), this.workgroupSize[0]);
    this.shaderKey = `cnnvizConvFwd_${activation}_${hasBias}_${g.outChannels}_${geometryKey(g)}_${g.batch}_${this.rows}${precisionCode(precision).key}`;
  }

  getUserCode(): string {
    if (this.rows === 4) return this.matrixCode();
    const g = this.geometry;
    const p = precisionCode(this.precision);
    const cov = g.outChannels / 4;
    const vecIn = g.channels % 4 === 0;
    const civ = vecIn ? g.channels / 4 : g.channels;
    const w = (row: string) => p.op(`W[(${row}) * ${cov} + co]`, true);
    // Four input channels against four rows of the filter, summed in the operand type, then added to the sum.
    const inner = vecIn
      ? `let xv = ${p.op(`x[xrow + c]`, true)};
              let r = wrow + c * 4;
              acc = acc + ${p.acc(`xv.x * ${w('r')} + xv.y * ${w('r + 1')} + xv.z * ${w('r + 2')} + xv.w * ${w('r + 3')}`, true)};`
      : `acc = acc + ${p.acc(`${p.op('x[xrow + c]', false)} * ${w('wrow + c')}`, true)};`;
    const t = p.accType(true);
    return `${p.header}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${nhwcIndex('co', 'ox', 'oy', cov, g.outW, g.outH)}
          var acc = ${t}(0.0);
          ${forwardTaps(
            g,
            `
              let xrow = ((b * ${g.inH} + iy) * ${g.inW} + ix) * ${civ};
              let wrow = (kh * ${g.filterW} + kw) * ${g.channels};
              for (var c = 0; c < ${civ}; c++) {
              ${inner}
              }`,
          )}
          ${this.hasBias ? `acc = acc + ${t}(bias[co]);` : ''}
          ${activationCode(this.activation, 'acc', t)}
          result[index] = ${p.out('acc', true)};
        }
      }`;
  }

  /**
   * A 1x1 stride-1 conv is the matrix product [pixels, Ci] x [Ci, Co]: four pixels per invocation, so each filter
   * vector read from memory serves four rows.
   */
  private matrixCode(): string {
    const g = this.geometry;
    const p = precisionCode(this.precision);
    const cov = g.outChannels / 4;
    const civ = g.channels / 4;
    const t = p.accType(true);
    const rows = [0, 1, 2, 3];
    return `${p.header}
      fn main(index : i32) {
        let co = index % ${cov};
        let r0 = (index / ${cov}) * 4;
        // The output's pixel count, read from the uniforms (also the pipeline's 'auto' layout must keep their binding).
        let pixels = uniforms.outShape[0] * uniforms.outShape[1] * uniforms.outShape[2];
        if (r0 < pixels) {
          ${rows.map((j) => `var a${j} = ${t}(0.0); let x${j} = min(r0 + ${j}, pixels - 1) * ${civ};`).join('\n          ')}
          for (var c = 0; c < ${civ}; c++) {
            let r = c * ${4 * cov} + co;
            let w0 = ${p.op('W[r]', true)};
            let w1 = ${p.op(`W[r + ${cov}]`, true)};
            let w2 = ${p.op(`W[r + ${2 * cov}]`, true)};
            let w3 = ${p.op(`W[r + ${3 * cov}]`, true)};
            ${rows
              .map(
                (j) => `let v${j} = ${p.op(`x[x${j} + c]`, true)};
            a${j} = a${j} + ${p.acc(`v${j}.x * w0 + v${j}.y * w1 + v${j}.z * w2 + v${j}.w * w3`, true)};`,
              )
              .join('\n            ')}
          }
          ${rows
            .map(
              (j) => `if (r0 + ${j} < pixels) {
            ${this.hasBias ? `a${j} = a${j} + ${t}(bias[co]);` : ''}
            ${activationCode(this.activation, `a${j}`, t)}
            result[(r0 + ${j}) * ${cov} + co] = ${p.out(`a${j}`, true)};
          }`,
            )
            .join('\n          ')}
        }
      }`;
  }
}

/**
 * Forward depthwise convolution + bias + activation (channel multiplier 1, no dilation), NHWC, four channels per
 * invocation where C % 4 == 0, the geometry compiled in; the half-precision path's counterpart of tfjs's
 * FusedDepthwiseConv2D.
 */
export class DepthwiseForwardProgram implements WebGPUProgramLike {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  outputComponent: number;

  constructor(
    readonly geometry: DepthwiseGeometry,
    private readonly hasBias: boolean,
    private readonly activation: ForwardActivation,
    private readonly precision: ShaderPrecision,
  ) {
    const g = geometry;
    this.variableNames = hasBias ? ['x', 'W', 'bias'] : ['x', 'W'];
    this.outputComponent = g.channels % 4 === 0 ? 4 : 1;
    this.outputShape = [g.batch, g.outH, g.outW, g.channels];
    this.dispatchLayout = { x: [0, 1, 2, 3] };
    this.dispatch = flatDispatch(
      (g.batch * g.outH * g.outW * g.channels) / this.outputComponent,
      this.workgroupSize[0],
    );
    this.shaderKey = `cnnvizDepthwiseFwd_${activation}_${hasBias}_${this.outputComponent}_${geometryKey(g)}${precisionCode(precision).key}`;
  }

  getUserCode(): string {
    const g = this.geometry;
    const p = precisionCode(this.precision);
    const vec = this.outputComponent === 4;
    const cv = g.channels / this.outputComponent;
    const t = p.accType(vec);
    const xv = p.op(`x[((b * ${g.inH} + iy) * ${g.inW} + ix) * ${cv} + c]`, vec);
    const wv = p.op(`W[(kh * ${g.filterW} + kw) * ${cv} + c]`, vec);
    return `${p.header}
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${nhwcIndex('c', 'ox', 'oy', cv, g.outW, g.outH)}
          var acc = ${t}(0.0);
          ${forwardTaps(
            g,
            `
              acc = acc + ${p.acc(`${xv} * ${wv}`, vec)};`,
          )}
          ${this.hasBias ? `acc = acc + ${t}(bias[c]);` : ''}
          ${activationCode(this.activation, 'acc', t)}
          result[index] = ${p.out('acc', vec)};
        }
      }`;
  }
}
