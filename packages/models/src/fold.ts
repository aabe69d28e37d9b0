import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  fusedInputOnlyConv2d,
  type FusedInputConvActivation,
  type FusedInputConvOptions,
} from '@cnnviz/core';

type Config = Record<string, unknown>;

/** A layer of the executor's plan, as far as folding needs it. */
export interface FoldStep {
  name: string;
  layer: tfl.layers.Layer;
  cls: string;
  cfg: Config;
  inputs: string[];
}

/**
 * A convolution run as one fused kernel: conv [+ the BatchNorm after it, folded into its weights]
 * [+ the ReLU/ReLU6 after that]. `names` are the layers it stands for, conv first; the result is the
 * value of the last one.
 */
export interface FusedConv {
  /** A ZeroPadding2D before a 'valid' conv, applied as the conv's explicit padding. */
  pad?: FoldStep;
  conv: FoldStep;
  bn?: FoldStep;
  names: string[];
  activation: FusedInputConvActivation;
  /** The conv's own activation, for when a tap needs the chain cut after the conv. */
  own: FusedInputConvActivation;
}

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D']);

function activationOf(cls: string, cfg: Config): FusedInputConvActivation | undefined {
  if (cls === 'ReLU') {
    const slope = Number(cfg.negativeSlope ?? 0);
    const threshold = Number(cfg.threshold ?? 0);
    if (slope !== 0 || threshold !== 0) return undefined;
    if (cfg.maxValue == null) return 'relu';
    return Number(cfg.maxValue) === 6 ? 'relu6' : undefined;
  }
  if (cls === 'Activation') {
    const a = typeof cfg.activation === 'string' ? cfg.activation.toLowerCase() : '';
    return a === 'relu' || a === 'relu6' || a === 'linear' ? a : undefined;
  }
  return undefined;
}

/** ZeroPadding2D's `padding` config as [[top, bottom], [left, right]]. */
export function zeroPadding(cfg: Config): [[number, number], [number, number]] {
  const p = cfg.padding as number | [number, number] | [[number, number], [number, number]];
  if (typeof p === 'number') {
    return [
      [p, p],
      [p, p],
    ];
  }
  if (Array.isArray(p[0])) return p as [[number, number], [number, number]];
  const [h, w] = p as [number, number];
  return [
    [h, h],
    [w, w],
  ];
}

/**
 * Chains [ZeroPadding2D →] conv → BatchNorm → ReLU in `plan` that can run as one fused kernel: the conv
 * is channels-last (any dilation or depth multiplier), and each later layer is the only consumer of the one before. The
 * chain stops before any layer in `keep` (a tapped or output layer must keep its own value, e.g. the
 * pre-activation BatchNorm output). Keyed by the chain's first layer.
 */
export function fusedConvs(plan: FoldStep[], keep: Set<string>): Map<string, FusedConv> {
  const consumers = new Map<string, FoldStep[]>();
  for (const s of plan) for (const i of s.inputs) consumers.set(i, [...(consumers.get(i) ?? []), s]);
  const only = (name: string): FoldStep | undefined => {
    const c = consumers.get(name);
    return c?.length === 1 && c[0].inputs.length === 1 && !keep.has(name) ? c[0] : undefined;
  };
  const out = new Map<string, FusedConv>();
  for (const conv of plan) {
    const cfg = conv.cfg;
    if (!CONVS.has(conv.cls) || conv.inputs.length !== 1) continue;
    if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') continue;
    const own = activationOf('Activation', { activation: cfg.activation ?? 'linear' });
    if (own === undefined) continue;
    const fused: FusedConv = { conv, names: [conv.name], activation: own, own };
    const before = plan.find((p) => p.name === conv.inputs[0]);
    const padFormat = before?.cfg.dataFormat;
    if (
      before?.cls === 'ZeroPadding2D' &&
      (padFormat === undefined || padFormat === 'channelsLast') &&
      cfg.padding !== 'same' &&
      before.inputs.length === 1 &&
      only(before.name) === conv
    ) {
      fused.pad = before;
      fused.names.unshift(before.name);
    }
    let last = conv.name;
    if (own === 'linear') {
      const bn = only(last);
      const axis = Number(bn?.cfg.axis ?? -1);
      if (bn?.cls === 'BatchNormalization' && (axis === -1 || axis === 3)) {
        fused.bn = bn;
        fused.names.push(bn.name);
        last = bn.name;
      }
      const act = only(last);
      const a = act ? activationOf(act.cls, act.cfg) : undefined;
      if (act && a !== undefined) {
        fused.activation = a;
        fused.names.push(act.name);
      }
    }
    out.set(fused.names[0], fused);
  }
  return out;
}

/** A layer's weights by their short name (`kernel`, `bias`, `gamma`, `moving_mean`, ...). */
export function weightsByName(layer: tfl.layers.Layer): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const w of layer.weights) {
    const short = (w.originalName ?? w.name).split('/').pop()!.replace(/_\d+$/, '').replace(/:\d+$/, '');
    out[short] = w.read();
  }
  return out;
}

interface Folded {
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  sources: object[];
}

/**
 * Folded conv + BatchNorm weights, made once per chain and remade when a source weight changes
 * (`setWeights` on the model or on the tfjs-layers layer assigns new data to the variable). BatchNorm
 * at inference is a per-channel affine map y = s·x + t with s = γ/√(σ²+ε), t = β − s·μ; after a conv
 * it folds into the filter (W·s per output channel) and bias (s·b + t), which saves a pass over the
 * activation forward and backward — on MobileNetV2 the BatchNorms were a third of a saliency step.
 */
export class FoldedWeights {
  private cache = new Map<string, Folded>();

  /** Makes the folded weights of every chain with a BatchNorm now, so that no later call allocates any. */
  constructor(chains: Iterable<FusedConv>) {
    for (const f of chains) if (f.bn) this.get(f);
  }

  get(f: FusedConv): { filter: tf.Tensor4D; bias: tf.Tensor1D | undefined } {
    const conv = weightsByName(f.conv.layer);
    const depthwise = f.conv.cls === 'DepthwiseConv2D';
    const kernel = (depthwise ? conv.depthwise_kernel : conv.kernel) as tf.Tensor4D;
    if (f.bn === undefined) return { filter: kernel, bias: conv.bias as tf.Tensor1D | undefined };
    const bn = weightsByName(f.bn.layer);
    const sources = [...Object.values(conv), ...Object.values(bn)].map((t) => t.dataId);
    const hit = this.cache.get(f.conv.name);
    if (hit && hit.sources.length === sources.length && hit.sources.every((d, i) => d === sources[i]))
      return hit;
    if (hit) tf.dispose([hit.filter, hit.bias]);
    const eps = Number(f.bn.cfg.epsilon ?? 1e-3);
    const made = tf.tidy(() => {
      let s = tf.rsqrt(tf.add(bn.moving_variance, eps));
      if (bn.gamma) s = tf.mul(s, bn.gamma);
      let t = tf.neg(tf.mul(s, bn.moving_mean));
      if (bn.beta) t = tf.add(t, bn.beta);
      if (conv.bias) t = tf.add(t, tf.mul(s, conv.bias));
      // Output channel of a depthwise filter [kh,kw,C,m] is c·m + j: the scale reshapes onto its last two axes.
      const scale = depthwise ? tf.reshape(s, [kernel.shape[2], kernel.shape[3]]) : s;
      return { filter: tf.mul(kernel, scale) as tf.Tensor4D, bias: tf.reshape(t, [-1]) as tf.Tensor1D };
    });
    // Outlives the forward pass's tidy (weights can change between calls, so this may run inside one).
    const entry = { filter: tf.keep(made.filter), bias: tf.keep(made.bias), sources };
    this.cache.set(f.conv.name, entry);
    return entry;
  }

  dispose(): void {
    for (const e of this.cache.values()) tf.dispose([e.filter, e.bias]);
    this.cache.clear();
  }
}

/**
 * The chain as far as a forward pass that taps some of its layers may run it: the whole chain, just the
 * conv when a layer after the conv is tapped, or nothing when the padding or the conv itself must be seen.
 */
export function cutChain(f: FusedConv, want: Set<string>): FusedConv | undefined {
  const inner = f.names.slice(0, -1);
  if (!inner.some((n) => want.has(n))) return f;
  if (f.pad !== undefined) return undefined;
  return { conv: f.conv, names: [f.conv.name], activation: f.own, own: f.own };
}

/**
 * Runs a fused chain on `x` with its folded weights. With `channels` [lo, hi) only those output channels are computed
 * and the others are zero: a channel objective reads one channel of a layer, and the rest of the convolution that
 * makes it is dead work, forward and backward (`ForwardOptions.channels` allows them to be zero).
 */
export function runFusedConv(
  f: FusedConv,
  weights: FoldedWeights,
  x: tf.Tensor4D,
  channels?: [number, number],
): tf.Tensor4D {
  let { filter, bias } = weights.get(f);
  const k = filter.shape[3];
  const depthwise = f.conv.cls === 'DepthwiseConv2D';
  const cut = channels !== undefined && !depthwise && channels[1] - channels[0] < k;
  if (cut) {
    // Sliced per call (the caller's tidy frees them): weights kept across calls would break "a forward pass leaves no
    // tensor behind", and the convolution then repacks a 768 x 1 filter per step (~0.2 ms).
    const [lo, hi] = channels;
    filter = tf.slice(filter, [0, 0, 0, lo], [-1, -1, -1, hi - lo]);
    if (bias !== undefined) bias = tf.slice(bias, [lo], [hi - lo]);
  }
  const cfg = f.conv.cfg;
  const strides = cfg.strides;
  const [[t, b], [l, r]] = f.pad
    ? zeroPadding(f.pad.cfg)
    : [
        [0, 0],
        [0, 0],
      ];
  const pad: FusedInputConvOptions['pad'] = f.pad
    ? [
        [0, 0],
        [t, b],
        [l, r],
        [0, 0],
      ]
    : cfg.padding === 'same'
      ? 'same'
      : 'valid';
  const y = fusedInputOnlyConv2d(x, filter, {
    bias,
    strides: typeof strides === 'number' ? strides : ((strides as [number, number] | undefined) ?? 1),
    pad,
    activation: f.activation,
    depthwise,
    dilations: (cfg.dilationRate as number | [number, number] | undefined) ?? 1,
  });
  if (!cut) return y;
  return tf.pad(y, [
    [0, 0],
    [0, 0],
    [0, 0],
    [channels[0], k - channels[1]],
  ]);
}
