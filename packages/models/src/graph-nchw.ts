import * as tf from '@tensorflow/tfjs-core';
import * as tfconv from '@tensorflow/tfjs-converter';

/**
 * NCHW graphs (exported from PyTorch/ONNX or TF with `data_format='NCHW'`): tfjs-converter's executors for pooling,
 * BiasAdd and FusedBatchNorm ignore `data_format` (they read NHWC kernel sizes and broadcast over the last axis), so
 * such a graph computes wrong values or fails. These executors run the op in NHWC between two transposes (pooling)
 * or broadcast over axis 1 (BiasAdd, batch norm); convolutions handle NCHW in graph-model.ts. All are plain
 * differentiable ops, so the gradient tape sees them like the converter's own.
 */

/** Graph ops whose layout depends on `data_format`, and the cnnviz op that runs their NCHW form. */
export const NCHW_OPS: Record<string, string> = {
  MaxPool: 'CnnvizNCHW_MaxPool',
  AvgPool: 'CnnvizNCHW_AvgPool',
  BiasAdd: 'CnnvizNCHW_BiasAdd',
  FusedBatchNorm: 'CnnvizNCHW_FusedBatchNorm',
  FusedBatchNormV2: 'CnnvizNCHW_FusedBatchNorm',
  FusedBatchNormV3: 'CnnvizNCHW_FusedBatchNorm',
};

export const toNhwc = (t: tf.Tensor4D): tf.Tensor4D => tf.transpose(t, [0, 2, 3, 1]);
export const toNchw = (t: tf.Tensor4D): tf.Tensor4D => tf.transpose(t, [0, 3, 1, 2]);

let registered = false;

/** Registers the NCHW executors once (under cnnviz's own names: only graphs we rewire use them). */
export function registerNchwOps(): void {
  if (registered) return;
  registered = true;
  for (const pool of ['MaxPool', 'AvgPool'] as const) {
    tfconv.registerOp(NCHW_OPS[pool], (node) => {
      const a = node.attrs as Record<string, unknown>;
      const k = (a.ksize as number[] | undefined) ?? [1, 1, 1, 1];
      const s = (a.strides as number[] | undefined) ?? [1, 1, 1, 1];
      const pad = String(a.padding ?? 'VALID').toLowerCase() === 'same' ? 'same' : 'valid';
      const f = pool === 'MaxPool' ? tf.maxPool : tf.avgPool;
      return tf.tidy(() => toNchw(f(toNhwc(node.inputs[0] as tf.Tensor4D), [k[2], k[3]], [s[2], s[3]], pad)));
    });
  }
  tfconv.registerOp(NCHW_OPS.BiasAdd, (node) => {
    const [x, b] = node.inputs as [tf.Tensor, tf.Tensor1D];
    return tf.tidy(() => tf.add(x, tf.reshape(b, [b.shape[0], ...new Array<number>(x.rank - 2).fill(1)])));
  });
  tfconv.registerOp(NCHW_OPS.FusedBatchNorm, (node) => {
    const [x, scale, offset, mean, variance] = node.inputs as tf.Tensor1D[];
    const eps = Number((node.attrs as Record<string, unknown>).epsilon ?? 1e-3);
    // y = (x − μ)·γ/√(σ²+ε) + β per channel on axis 1, as elementwise ops (tf.batchNorm broadcasts over the last axis).
    return tf.tidy(() => {
      const c = (t: tf.Tensor) => tf.reshape(t, [t.shape[0], 1, 1]);
      const s = tf.mul(tf.rsqrt(tf.add(variance, eps)), scale);
      return tf.add(tf.mul(tf.sub(x, c(mean)), c(s)), c(offset));
    });
  });
}

/** The converter's graph node, as far as `insertNhwcViews` rewires it. */
export interface NchwNode {
  name: string;
  op: string;
  category: string;
  inputNames: string[];
  inputs: NchwNode[];
  children: NchwNode[];
  rawAttrs?: Record<string, unknown>;
  inputParams?: Record<string, unknown>;
  attrParams?: Record<string, unknown>;
}

const TO_NHWC = 'CnnvizNCHW_ViewNHWC';
const TO_NCHW = 'CnnvizNCHW_ViewNCHW';
let viewsRegistered = false;

/**
 * Puts an NHWC view after each listed node of an NCHW graph: `n → n/nhwc → n/nchw → n's consumers`. Tapping
 * `n/nhwc` gives the value in NHWC *on the path to the output*, so gradients with respect to it exist (Grad-CAM);
 * a transposed copy made after the run would be off the path. Rank-4 values are transposed, others passed on.
 * Returns node name → name of its NHWC view.
 */
export function insertNhwcViews(nodes: Record<string, NchwNode>, names: string[]): Map<string, string> {
  if (!viewsRegistered) {
    viewsRegistered = true;
    const view = (to: (t: tf.Tensor4D) => tf.Tensor4D) => (node: { inputs: tf.Tensor[] }) => {
      const t = node.inputs[0];
      return t.rank === 4 ? to(t as tf.Tensor4D) : tf.clone(t);
    };
    tfconv.registerOp(TO_NHWC, view(toNhwc));
    tfconv.registerOp(TO_NCHW, view(toNchw));
  }
  const views = new Map<string, string>();
  const make = (name: string, op: string, input: NchwNode): NchwNode => ({
    name,
    op,
    category: 'custom',
    inputNames: [input.name],
    inputs: [input],
    children: [],
    rawAttrs: {},
    inputParams: {},
    attrParams: {},
  });
  for (const name of names) {
    const n = nodes[name];
    const consumers = n.children;
    const nhwc = make(`${name}/cnnviz_nhwc`, TO_NHWC, n);
    const back = make(`${name}/cnnviz_nchw`, TO_NCHW, nhwc);
    nhwc.children = [back];
    back.children = consumers;
    n.children = [nhwc];
    for (const c of consumers) {
      c.inputs = c.inputs.map((i) => (i === n ? back : i));
      c.inputNames = c.inputNames.map((i) =>
        i.replace(/^\^/, '').replace(/:\d+$/, '') === name ? i.replace(name, back.name) : i,
      );
    }
    nodes[nhwc.name] = nhwc;
    nodes[back.name] = back;
    views.set(name, nhwc.name);
  }
  return views;
}
