import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import {
  check,
  checkLayer,
  CnnvizError,
  type ForwardOptions,
  type ForwardResult,
  type InputRange,
  type LayerInfo,
  type TapsResult,
  type VisionModel,
} from '@cnnviz/core';
import { channelNeeds, tapNeeds, type ChannelNeed } from './channel-needs.js';
import { wantsLogits } from './forward-options.js';
import { cutChain, FoldedWeights, fusedConvs, runFusedConv, type FoldStep } from './fold.js';
import { hasSoftmaxActivation, isSoftmaxLayer, kernelInfo, runLayer } from './layer-ops.js';
import { checkInputRange, makePreprocess } from './preprocess.js';
import { layerProblem } from './supported.js';

/** Options shared by every adapter. */
export interface ModelOptions {
  /** Value range the model expects; `preprocess` maps 0..1 pixels to it. Default `[0, 1]`. */
  inputRange?: InputRange;
  /** Class names, one per logit. */
  labels?: string[];
}

/** Options of `fromLayersModel`. */
export interface LayersModelOptions extends ModelOptions {
  /** Treat this layer as the model's output (a feature extractor cut); later layers are not run. */
  outputLayer?: string;
  /** How a rank-4 output becomes logits: flattened (default) or global-average-pooled. */
  logits?: 'flatten' | 'avg';
}

type Step = FoldStep;

function nodeKey(layer: tfl.layers.Layer, i: number): string {
  return `${layer.name}_ib-${i}`;
}

/** The layers feeding `layer` inside `model` (the inbound node that belongs to this model). */
function inboundOf(model: tfl.LayersModel, layer: tfl.layers.Layer): tfl.layers.Layer[] {
  const nodes = (model as unknown as { containerNodes?: Set<string> }).containerNodes;
  let idx = layer.inboundNodes.findIndex((_, i) => nodes?.has(nodeKey(layer, i)));
  if (idx < 0) idx = 0;
  const node = layer.inboundNodes[idx];
  return node ? node.inboundLayers : [];
}

/** Layers in dependency order, input layers included (Sequential models hide theirs). */
function steps(model: tfl.LayersModel): Step[] {
  const order: Step[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (layer: tfl.layers.Layer) => {
    const name = layer.name;
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting')
      throw new CnnvizError('UNSUPPORTED_OP', `layer graph has a cycle at ${name}`);
    state.set(name, 'visiting');
    const cls = layer.getClassName();
    const ins = cls === 'InputLayer' ? [] : inboundOf(model, layer);
    ins.forEach(visit);
    order.push({
      name,
      layer,
      cls,
      cfg: layer.getConfig() as Record<string, unknown>,
      inputs: ins.map((l) => l.name),
    });
    state.set(name, 'done');
  };
  model.outputs.forEach((t) => visit(t.sourceLayer as tfl.layers.Layer));
  // Layers not on the way to the output (side branches) can still be tapped.
  model.layers.forEach(visit);
  return order;
}

function shapeOf(layer: tfl.layers.Layer): (number | null)[] {
  try {
    const s = layer.outputShape as unknown;
    const first = (Array.isArray(s) && Array.isArray(s[0]) ? s[0] : s) as (number | null)[];
    return first.slice(1);
  } catch {
    return [];
  }
}

/**
 * Wraps a tf.LayersModel as a VisionModel. The adapter runs the layer graph itself, layer by layer
 * in dependency order, so that any layer can be tapped and every op is differentiable: convolutions
 * go through core's input-only path (no filter gradients), BatchNorm without gamma/beta gets ones/
 * zeros, a final softmax (as an activation or a layer) is removed so `logits` are pre-softmax.
 * Supports Sequential and functional models with merges (Add, Concatenate, ...); unknown layer
 * classes run through tfjs-layers' own `apply`. `forward(x, taps, { logits: false })` runs only
 * the layers the taps depend on and returns no logits; with `{ channels: { [tap]: [...] } }` it also
 * skips the inputs of a concatenation that hold none of those channels, and the output channels of a
 * convolution outside the span of those it feeds (their channels read zero).
 * `dispose()` disposes the LayersModel.
 */
export function fromLayersModel(model: tfl.LayersModel, options: LayersModelOptions = {}): VisionModel {
  check(
    typeof model === 'object' && model !== null && Array.isArray((model as tfl.LayersModel).layers),
    'BAD_INPUT',
    'fromLayersModel expects a tf.LayersModel',
  );
  check(
    model.inputs.length === 1,
    'UNSUPPORTED_OP',
    `models with one input are supported, got ${model.inputs.length}`,
  );
  check(
    model.outputs.length === 1,
    'UNSUPPORTED_OP',
    `models with one output are supported, got ${model.outputs.length}`,
  );
  const all = steps(model);
  for (const s of all) {
    const problem = layerProblem(s.cls);
    if (problem) throw new CnnvizError('UNSUPPORTED_LAYER', `layer '${s.name}' (${s.cls}): ${problem}`);
  }
  const byName = new Map(all.map((s) => [s.name, s]));

  let outName = options.outputLayer ?? model.outputs[0].sourceLayer.name;
  if (options.outputLayer !== undefined)
    checkLayer(
      options.outputLayer,
      all.map((s) => s.name),
    );
  // Strip a trailing softmax so that logits are pre-softmax scores.
  let stripActivation = false;
  const out = byName.get(outName)!;
  if (options.outputLayer === undefined) {
    if (isSoftmaxLayer(out.layer) && out.inputs.length === 1) outName = out.inputs[0];
    else if (hasSoftmaxActivation(out.layer)) stripActivation = true;
  }
  // Layers after the output (a stripped softmax, the head below a cut) are never run nor listed.
  const downstream = new Set<string>();
  for (const s of all) {
    if (s.inputs.some((i) => i === outName || downstream.has(i))) downstream.add(s.name);
  }
  const exec = all.filter((s) => !downstream.has(s.name));

  const inShape = model.inputs[0].shape;
  check(
    inShape.length === 4,
    'UNSUPPORTED_OP',
    `image models with input [N,H,W,C] are supported, got [${inShape}]`,
  );
  const channels = inShape[3];
  check(typeof channels === 'number', 'UNSUPPORTED_OP', 'the model input must declare its channel count');
  const inputShape: [number | null, number | null, number] = [inShape[1], inShape[2], channels];
  const range: InputRange = options.inputRange ?? [0, 1];
  checkInputRange(range, channels);
  const fixedSize = exec.some((s) => s.cls === 'Flatten' || s.cls === 'Reshape');

  const layers: LayerInfo[] = exec.map((s) => {
    const info: LayerInfo = { name: s.name, kind: s.cls, outputShape: shapeOf(s.layer), inputs: s.inputs };
    const k = kernelInfo(s.cls, s.cfg);
    if (k) info.kernel = k;
    return info;
  });
  const names = layers.map((l) => l.name);
  const staticShape = new Map(exec.map((s) => [s.name, shapeOf(s.layer)]));
  const rankOf = (n: string) => {
    const sh = staticShape.get(n);
    return sh && sh.length > 0 ? sh.length + 1 : undefined;
  };
  const channelsOf = (n: string) => {
    const c = staticShape.get(n)?.at(-1);
    return typeof c === 'number' ? c : undefined;
  };
  const inputName = model.inputs[0].sourceLayer.name;
  // conv → BatchNorm → ReLU chains run as one fused kernel with folded weights (made here, freed by dispose).
  const chains = fusedConvs(exec, new Set([outName]));
  const folded = new FoldedWeights(chains.values());

  function forward(x: tf.Tensor4D, taps?: string[]): ForwardResult;
  function forward(x: tf.Tensor4D, taps: string[] | undefined, opts: ForwardOptions): TapsResult;
  function forward(x: tf.Tensor4D, taps: string[] = [], opts: ForwardOptions = {}): TapsResult {
    check(
      x instanceof tf.Tensor && x.rank === 4,
      'BAD_INPUT',
      `forward expects a preprocessed [N,H,W,C] tensor, got ${describe(x)}`,
    );
    check(
      x.shape[3] === channels,
      'BAD_INPUT',
      `forward expects ${channels} channel(s), got [${x.shape.join(',')}]`,
    );
    check(Array.isArray(taps), 'BAD_INPUT', 'taps must be an array of layer names');
    for (const t of taps) checkLayer(t, names);
    // Without logits only the taps' ancestors run: the pass stops at the deepest tap.
    const withLogits = wantsLogits(opts);
    if (!withLogits && taps.length === 0) return { activations: {} };
    const want = new Set<string>(withLogits ? [outName, ...taps] : taps);
    // Only what the taps (or the logits) need runs; branches of a concatenation that feed none of
    // the channels the caller reads (`opts.channels`) are skipped and stand as zeros, and a convolution
    // computes only the span of channels its readers need.
    const wanted: Map<string, ChannelNeed> = tapNeeds(taps, opts.channels);
    if (withLogits) wanted.set(outName, 'all');
    const run = channelNeeds(exec, wanted, rankOf, channelsOf);
    const plan = exec.filter((s) => run.has(s.name));
    // Free each intermediate once its last consumer has run (the gradient tape keeps its own copies).
    const uses = new Map<string, number>();
    for (const s of plan) for (const i of s.inputs) uses.set(i, (uses.get(i) ?? 0) + 1);
    const values = new Map<string, tf.Tensor>();
    try {
      const inChain = new Set<string>();
      for (const s of plan) {
        if (inChain.has(s.name)) continue;
        const got: (tf.Tensor | undefined)[] =
          s.name === inputName || s.inputs.length === 0 ? [x] : s.inputs.map((i) => values.get(i));
        // A concatenation's inputs that hold no channel the caller reads were skipped (channelNeeds).
        const skipped = got.includes(undefined);
        const ins = got.filter((t): t is tf.Tensor => t !== undefined);
        const whole = !skipped && ins[0]?.rank === 4 ? chains.get(s.name) : undefined;
        const chain = whole && cutChain(whole, want);
        if (chain) chain.names.slice(1).forEach((n) => inChain.add(n));
        const name = chain ? chain.names[chain.names.length - 1] : s.name;
        let y = tf.tidy(() => {
          try {
            if (chain) return runFusedConv(chain, folded, ins[0] as tf.Tensor4D, readRange(run.get(name)));
            const args = skipped ? withZeros(got, s.inputs, channelsOf) : ins;
            return runLayer(s.layer, s.cls, s.cfg, args, stripActivation && s.name === outName);
          } catch (e) {
            if (CnnvizError.isInstance(e)) throw e;
            throw new CnnvizError(
              'UNSUPPORTED_OP',
              `layer ${s.name} (${s.cls}) failed on input [${ins.map((t) => t.shape.join('x')).join(', ')}]: ${(e as Error).message}`,
              { cause: e },
            );
          }
        });
        // Never hand out the caller's tensor or another layer's (identity layers return their input).
        if (y === x || ins.includes(y)) y = tf.clone(y);
        values.set(name, y);
        for (const i of s.inputs) {
          const left = (uses.get(i) ?? 1) - 1;
          uses.set(i, left);
          if (left === 0 && !want.has(i)) {
            values.get(i)?.dispose();
            values.delete(i);
          }
        }
      }
      const activations: Record<string, tf.Tensor> = {};
      for (const t of taps) activations[t] = values.get(t)!;
      let logits: tf.Tensor2D | undefined;
      if (withLogits) {
        const outT = values.get(outName)!;
        logits = tf.tidy(() => {
          if (outT.rank === 2) return tf.clone(outT) as tf.Tensor2D;
          if (outT.rank === 4 && options.logits === 'avg') return tf.mean(outT, [1, 2]) as tf.Tensor2D;
          return tf.reshape(outT, [outT.shape[0], -1]) as tf.Tensor2D;
        });
      }
      for (const [n, v] of values) if (!taps.includes(n)) v.dispose();
      return logits ? { logits, activations } : { activations };
    } catch (e) {
      for (const v of values.values()) v.dispose();
      throw e;
    }
  }

  const layerByName = (name: string): tfl.layers.Layer => {
    checkLayer(name, names);
    return byName.get(name)!.layer;
  };

  return {
    inputShape,
    layers,
    labels: options.labels,
    inputRange: range,
    preprocess: makePreprocess(range, inputShape, fixedSize),
    forward,
    getWeights(name: string): tf.Tensor[] {
      return layerByName(name)
        .getWeights()
        .map((w) => tf.clone(w));
    },
    setWeights(name: string, weights: tf.Tensor[]): void {
      const layer = layerByName(name);
      const current = layer.getWeights();
      check(
        Array.isArray(weights) &&
          weights.length === current.length &&
          weights.every((w, i) => w instanceof tf.Tensor && tf.util.arraysEqual(w.shape, current[i].shape)),
        'BAD_INPUT',
        () =>
          `setWeights(${name}) expects ${current.length} tensor(s) of shapes ${current.map((w) => `[${w.shape}]`).join(', ')}`,
      );
      layer.setWeights(weights);
    },
    dispose(): void {
      folded.dispose();
      model.dispose();
    },
  };
}

/** Zeros in place of the concatenation inputs that were skipped (no channel of theirs is read). */
function withZeros(
  ins: (tf.Tensor | undefined)[],
  names: string[],
  channelsOf: (n: string) => number | undefined,
): tf.Tensor[] {
  const live = ins.find((t) => t !== undefined)!;
  return ins.map((t, k) => t ?? tf.zeros([...live.shape.slice(0, -1), channelsOf(names[k])!]));
}

function describe(x: unknown): string {
  return x instanceof tf.Tensor ? `shape [${x.shape.join(',')}]` : typeof x;
}

/**
 * The span [lo, hi) of the channels a layer's readers need, where that is a set (a channel or neuron objective's);
 * undefined for 'all'.
 */
function readRange(need: ChannelNeed | undefined): [number, number] | undefined {
  if (need === undefined || need === 'all' || need.size === 0) return undefined;
  const cs = [...need];
  return [Math.min(...cs), Math.max(...cs) + 1];
}
