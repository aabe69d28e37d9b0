import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';
import {
  check,
  checkLayer,
  CnnvizError,
  inputOnlyConv2d,
  inputOnlyDepthwiseConv2d,
  type ForwardOptions,
  type ForwardResult,
  type InputOnlyConvOptions,
  type InputRange,
  type LayerInfo,
  type TapsResult,
  type VisionModel,
} from '@cnnviz/core';
import { wantsLogits } from './forward-options.js';
import type { ModelOptions } from './layers-model.js';
import { insertNhwcViews, NCHW_OPS, type NchwNode, registerNchwOps, toNchw, toNhwc } from './graph-nchw.js';
import { checkInputRange, makePreprocess } from './preprocess.js';
import { opProblem } from './supported.js';

/** Options of `fromGraphModel`. */
export interface GraphModelOptions extends ModelOptions {
  /** Output node to use instead of the model's (a feature-extractor cut). */
  outputNode?: string;
  /** How a rank-4 output becomes logits: flattened (default) or global-average-pooled. */
  logits?: 'flatten' | 'avg';
  /**
   * Run the graph once on zeros when wrapping it, to list each node's output shape (default true
   * when the input size is fixed). Costs one forward pass with every node kept.
   */
  inferShapes?: boolean;
}

/** The converter's internal graph node (tfjs-converter 4.x `operations/types` Node). */
interface GraphNode {
  name: string;
  op: string;
  category: string;
  inputNames: string[];
  inputs: GraphNode[];
  rawAttrs?: Record<string, unknown>;
}

interface Internals {
  executor?: {
    graph?: { nodes: Record<string, GraphNode>; placeholders: GraphNode[]; outputs: GraphNode[] };
  };
}

// Plain convolutions too: tfjs refuses gradients of dilated ones, and all of them may be NCHW.
const FUSED_OPS: Record<string, string> = {
  _FusedConv2D: 'CnnvizInputOnly_FusedConv2D',
  FusedDepthwiseConv2dNative: 'CnnvizInputOnly_FusedDepthwiseConv2dNative',
  Conv2D: 'CnnvizInputOnly_Conv2D',
  DepthwiseConv2dNative: 'CnnvizInputOnly_DepthwiseConv2dNative',
};
const DEPTHWISE = new Set(['FusedDepthwiseConv2dNative', 'DepthwiseConv2dNative']);
// The converter lower-cases string attributes (fused_ops: ['biasadd', 'relu']).
const ACTIVATIONS: Record<string, 'relu' | 'relu6' | 'elu' | 'sigmoid' | 'tanh' | 'leakyrelu'> = {
  relu: 'relu',
  relu6: 'relu6',
  elu: 'elu',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  leakyrelu: 'leakyrelu',
};

let registered = false;

/**
 * Executors for convolutions through core's input-only path: the converter's own ones call
 * tf.fused.conv2d, whose gradient always computes the filter gradient too (slow on cpu, missing on
 * wasm), and tf.conv2d, whose gradient refuses dilations. NCHW runs in NHWC between two transposes
 * (attributes are then in NCHW order). Registered under cnnviz's own op names, so only graphs we
 * rewire use them.
 */
function registerInputOnlyOps(): void {
  if (registered) return;
  registered = true;
  for (const [op, name] of Object.entries(FUSED_OPS)) {
    const depthwise = DEPTHWISE.has(op);
    tfconv.registerOp(name, (node) => {
      const a = node.attrs as Record<string, unknown>;
      const [x, filter, ...args] = node.inputs as tf.Tensor[];
      const fused = ((a.fused_ops as string[] | undefined) ?? []).map((f) => String(f).toLowerCase());
      const strides = (a.strides as number[] | undefined) ?? [1, 1, 1, 1];
      const dil = (a.dilations as number[] | undefined) ?? [1, 1, 1, 1];
      const format = String(a.data_format ?? 'NHWC').toUpperCase();
      const padding = String(a.padding ?? 'VALID').toUpperCase();
      if (format !== 'NHWC' && format !== 'NCHW')
        throw new CnnvizError('UNSUPPORTED_OP', `${op} with data_format ${format} is not supported`);
      // Spatial axes of the attributes: 1,2 in NHWC, 2,3 in NCHW.
      const [hA, wA] = format === 'NCHW' ? [2, 3] : [1, 2];
      let pad: 'same' | 'valid' | tf.backend_util.ExplicitPadding = padding === 'SAME' ? 'same' : 'valid';
      if (padding === 'EXPLICIT') {
        const e = (a.explicit_paddings as number[]) ?? [];
        const p = (i: number): [number, number] => [e[2 * i] ?? 0, e[2 * i + 1] ?? 0];
        pad = [[0, 0], p(hA), p(wA), [0, 0]];
      }
      if (fused.length > 0 && fused[0] !== 'biasadd') {
        throw new CnnvizError('UNSUPPORTED_OP', `${op} with fused ops ${fused.join(',')} is not supported`);
      }
      const bias = fused[0] === 'biasadd' ? (args[0] as tf.Tensor1D) : undefined;
      const actName = fused[1];
      const act = actName === undefined ? 'linear' : ACTIVATIONS[actName];
      const opts: InputOnlyConvOptions = {
        bias,
        strides: [strides[hA], strides[wA]] as [number, number],
        pad,
        dilations: [dil[hA], dil[wA]] as [number, number],
        activation: act ?? ('linear' as const),
        leakyreluAlpha: a.leakyrelu_alpha as number | undefined,
      };
      if (actName !== undefined && actName !== 'prelu' && act === undefined) {
        throw new CnnvizError('UNSUPPORTED_OP', `${op} with activation ${actName} is not supported`);
      }
      const conv = depthwise ? inputOnlyDepthwiseConv2d : inputOnlyConv2d;
      return tf.tidy(() => {
        const xin = format === 'NCHW' ? toNhwc(x as tf.Tensor4D) : (x as tf.Tensor4D);
        let y: tf.Tensor4D = conv(xin, filter as tf.Tensor4D, opts);
        if (actName === 'prelu') y = tf.prelu(y, args[1]) as tf.Tensor4D;
        return format === 'NCHW' ? toNchw(y) : y;
      });
    });
  }
}

function base(name: string): string {
  return name.replace(/^\^/, '').replace(/:\d+$/, '');
}

/**
 * Wraps a tf.GraphModel as a VisionModel: taps by node name, run by the converter's executor
 * (`execute(inputs, outputNames)`), whose ops are recorded by tf.grad like any other. Fused
 * convolutions are rewired through core's input-only path, a final Softmax (possibly behind an
 * Identity) is removed. The rewiring changes the model object in place (same forward values).
 * `forward(x, taps, { logits: false })` executes only the tapped nodes (and what they depend on)
 * and returns no logits. `dispose()` disposes the GraphModel.
 */
export function fromGraphModel(model: tfconv.GraphModel, options: GraphModelOptions = {}): VisionModel {
  check(
    typeof model === 'object' && model !== null && typeof (model as tfconv.GraphModel).execute === 'function',
    'BAD_INPUT',
    'fromGraphModel expects a tf.GraphModel',
  );
  const graph = (model as unknown as Internals).executor?.graph;
  check(
    graph !== undefined,
    'UNSUPPORTED_OP',
    'this GraphModel has no graph executor (unsupported tfjs-converter version?)',
  );
  check(
    model.inputs.length === 1,
    'UNSUPPORTED_OP',
    `graph models with one input are supported, got ${model.inputs.length}`,
  );

  registerInputOnlyOps();
  registerNchwOps();
  const nchw = Object.values(graph.nodes).some((n) => dataFormat(n) === 'NCHW');
  // The converter's op of each node we rewire (reported as the layer kind).
  const originalOp = new Map<string, string>();
  for (const node of Object.values(graph.nodes)) {
    const to = FUSED_OPS[node.op] ?? (dataFormat(node) === 'NCHW' ? NCHW_OPS[node.op] : undefined);
    if (to) {
      originalOp.set(node.name, node.op);
      node.op = to;
      node.category = 'custom';
    }
  }

  const weights = model.weights;
  const inputName = base(model.inputs[0].name);
  const nodes = Object.values(graph.nodes).filter(
    (n) => n.op !== 'Const' && !(n.name in weights) && n.op !== 'NoOp',
  );
  const names = nodes.map((n) => n.name);

  let outName = options.outputNode ?? base(model.outputs[0].name);
  if (options.outputNode !== undefined) checkLayer(options.outputNode, names);
  else {
    let n = graph.nodes[outName];
    while (n && n.op === 'Identity' && n.inputNames.length >= 1) n = graph.nodes[base(n.inputNames[0])];
    if (n && n.op === 'Softmax') outName = base(n.inputNames[0]);
  }

  // Ops on the way from the input to the output must be differentiable: say which one is not, now.
  const seen = new Set<string>();
  const stack = [outName];
  while (stack.length > 0) {
    const n = graph.nodes[stack.pop()!];
    if (!n || seen.has(n.name)) continue;
    seen.add(n.name);
    const op = originalOp.get(n.name) ?? n.op;
    const problem =
      opProblem(op) ??
      (n.category === undefined
        ? `${op} is not an op TensorFlow.js knows (a custom op must be registered with tf.registerOp)`
        : undefined);
    if (problem) throw new CnnvizError('UNSUPPORTED_OP', `node '${n.name}': ${problem}`);
    stack.push(...n.inputNames.map(base));
  }

  const declared = model.inputs[0].shape ?? [];
  check(
    declared.length === 4,
    'UNSUPPORTED_OP',
    `image models with input [N,H,W,C] (or [N,C,H,W] in an NCHW graph) are supported, got [${declared}]`,
  );
  // An NCHW graph is fed and tapped in NHWC: transposed at the boundary, rank-4 values listed and returned NHWC.
  const inShape = nchw ? [declared[0], declared[2], declared[3], declared[1]] : declared;
  // Each node of an NCHW graph is tapped through an NHWC view on the path to the output (see insertNhwcViews).
  const views = nchw
    ? insertNhwcViews(graph.nodes as unknown as Record<string, NchwNode>, names)
    : new Map<string, string>();
  if (nchw)
    (
      model as unknown as { executor?: { compiledMap?: Map<string, unknown> } }
    ).executor?.compiledMap?.clear();
  const viewOf = (n: string) => views.get(n) ?? n;
  const channels = inShape[3];
  check(
    typeof channels === 'number' && channels > 0,
    'UNSUPPORTED_OP',
    'the model input must declare its channel count',
  );
  const h = inShape[1] > 0 ? inShape[1] : null;
  const w = inShape[2] > 0 ? inShape[2] : null;
  const inputShape: [number | null, number | null, number] = [h, w, channels];
  const range: InputRange = options.inputRange ?? [0, 1];
  checkInputRange(range, channels);

  const shapes = new Map<string, number[]>();
  if ((options.inferShapes ?? true) && h !== null && w !== null) {
    try {
      const outs = tf.tidy(() => {
        const z = tf.zeros([1, h, w, channels]) as tf.Tensor4D;
        const r = model.execute(nchw ? toNchw(z) : z, names.map(viewOf));
        return Array.isArray(r) ? r : [r];
      });
      outs.forEach((t, i) => shapes.set(names[i], t.shape.slice(1)));
      tf.dispose(outs);
    } catch {
      // Shapes stay unknown ([]) for graphs that cannot run on zeros.
    }
  }

  const layers: LayerInfo[] = nodes.map((n) => {
    const info: LayerInfo = {
      name: n.name,
      kind: originalOp.get(n.name) ?? n.op,
      outputShape: shapes.get(n.name) ?? [],
      inputs: n.inputNames.map(base).filter((i) => !(i in weights) && graph.nodes[i]?.op !== 'Const'),
    };
    const k = graphKernel(info.kind, n, weights);
    if (k) info.kernel = k;
    return info;
  });

  function forward(x: tf.Tensor4D, taps?: string[]): ForwardResult;
  function forward(x: tf.Tensor4D, taps: string[] | undefined, opts: ForwardOptions): TapsResult;
  function forward(x: tf.Tensor4D, taps: string[] = [], opts: ForwardOptions = {}): TapsResult {
    check(
      x instanceof tf.Tensor && x.rank === 4,
      'BAD_INPUT',
      'forward expects a preprocessed [N,H,W,C] tensor',
    );
    check(Array.isArray(taps), 'BAD_INPUT', 'taps must be an array of node names');
    for (const t of taps) checkLayer(t, names);
    // The executor runs only what the requested nodes depend on: without logits, up to the deepest tap.
    const withLogits = wantsLogits(opts);
    if (!withLogits && taps.length === 0) return { activations: {} };
    const wanted = withLogits ? [outName, ...taps] : taps;
    let outs: tf.Tensor[];
    const xin = nchw ? toNchw(x) : x;
    try {
      const r = model.execute({ [inputName]: xin }, wanted.map(viewOf));
      outs = Array.isArray(r) ? r : [r];
    } catch (e) {
      if (xin !== x) xin.dispose();
      if (CnnvizError.isInstance(e)) throw e;
      throw new CnnvizError('UNSUPPORTED_OP', `graph execution failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
    if (xin !== x) xin.dispose();
    const out = withLogits ? outs[0] : undefined;
    const acts = withLogits ? outs.slice(1) : outs;
    const activations: Record<string, tf.Tensor> = {};
    const given = new Set<tf.Tensor>();
    taps.forEach((t, i) => {
      // A name tapped twice: keep the first (a copy here would replace it and leak it).
      if (Object.hasOwn(activations, t)) return;
      // The executor returns one tensor per name; nodes that pass a tensor through (Identity), or the
      // output tapped, share it.
      const v = acts[i];
      if (given.has(v) || v === out || v === x) activations[t] = tf.clone(v);
      else {
        activations[t] = v;
        given.add(v);
      }
    });
    if (out === undefined) return { activations };
    const logits = tf.tidy(() => {
      if (out.rank === 2) return tf.clone(out) as tf.Tensor2D;
      if (out.rank === 4 && options.logits === 'avg') return tf.mean(out, [1, 2]) as tf.Tensor2D;
      return tf.reshape(out, [out.shape[0], -1]) as tf.Tensor2D;
    });
    if (!given.has(out) && out !== x) out.dispose();
    return { logits, activations };
  }

  return {
    inputShape,
    layers,
    labels: options.labels,
    inputRange: range,
    preprocess: makePreprocess(range, inputShape, h !== null && w !== null),
    forward,
    getWeights(name: string): tf.Tensor[] {
      checkLayer(name, names);
      return graph.nodes[name].inputNames
        .map(base)
        .filter((i) => i in weights)
        .map((i) => tf.clone(weights[i][0]));
    },
    setWeights(name: string, ws: tf.Tensor[]): void {
      checkLayer(name, names);
      const ids = graph.nodes[name].inputNames.map(base).filter((i) => i in weights);
      check(
        Array.isArray(ws) &&
          ws.length === ids.length &&
          ws.every((t, i) => tf.util.arraysEqual(t.shape, weights[ids[i]][0].shape)),
        'BAD_INPUT',
        () =>
          `setWeights(${name}) expects ${ids.length} tensor(s) of shapes ${ids.map((i) => `[${weights[i][0].shape}]`).join(', ')}`,
      );
      // Weight tensors are kept by the executor; replace them by new kept copies.
      ids.forEach((id, i) => {
        const old = weights[id][0];
        const t = tf.keep(tf.clone(ws[i]));
        weights[id][0] = t;
        old.dispose();
      });
    },
    dispose(): void {
      model.dispose();
    },
  };
}

/** A node's `data_format` attribute ('NHWC', 'NCHW', ...), upper case; undefined when it has none. */
function dataFormat(n: GraphNode): string | undefined {
  const s = (n.rawAttrs as Record<string, { s?: string }> | undefined)?.data_format?.s;
  if (s === undefined) return undefined;
  return (/^[A-Za-z]+$/.test(s) && /^N[A-Z]+$/i.test(s) ? s : atobSafe(s)).toUpperCase();
}

function graphKernel(
  kind: string,
  n: GraphNode,
  weights: tf.NamedTensorMap | Record<string, tf.Tensor[]>,
): LayerInfo['kernel'] {
  const a = n.rawAttrs as Record<string, { list?: { i?: (string | number)[] }; s?: string }> | undefined;
  if (!a) return undefined;
  const list = (k: string) => (a[k]?.list?.i ?? []).map(Number);
  const padding = (() => {
    const s = a.padding?.s;
    const txt = s === undefined ? 'VALID' : typeof s === 'string' && /^[A-Za-z]+$/.test(s) ? s : atobSafe(s);
    return txt.toUpperCase() === 'SAME' ? 'same' : 'valid';
  })() as 'same' | 'valid';
  const [hA, wA] = dataFormat(n) === 'NCHW' ? [2, 3] : [1, 2];
  const strides = list('strides');
  const st: [number, number] = strides.length === 4 ? [strides[hA], strides[wA]] : [1, 1];
  if (['Conv2D', '_FusedConv2D', 'DepthwiseConv2dNative', 'FusedDepthwiseConv2dNative'].includes(kind)) {
    const f = (weights as Record<string, tf.Tensor[]>)[base(n.inputNames[1] ?? '')]?.[0] as
      tf.Tensor | undefined;
    if (!f) return undefined;
    const dil = list('dilations');
    return {
      size: [f.shape[0] ?? 1, f.shape[1] ?? 1],
      strides: st,
      padding,
      dilation: dil.length === 4 ? [dil[hA], dil[wA]] : [1, 1],
    };
  }
  if (kind === 'MaxPool' || kind === 'AvgPool') {
    const k = list('ksize');
    return { size: k.length === 4 ? [k[hA], k[wA]] : [1, 1], strides: st, padding };
  }
  return undefined;
}

function atobSafe(s: string): string {
  try {
    return atob(s);
  } catch {
    return s;
  }
}
