import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

type Layer = tfl.layers.Layer;

const inputsOf = (l: Layer): Layer[] => (l.inboundNodes[0]?.inboundLayers ?? []) as Layer[];

/** The 2x2 kernels of the four output phases of nearest-upsample(2) + reflect-pad(1) + 3x3 conv. */
function phaseKernels(w: tf.Tensor4D): tf.Tensor4D[] {
  return tf.tidy(() => {
    const [w0, w1, w2] = tf.unstack(w, 0);
    // Rows (and likewise columns): output phase 0 reads source rows i-1 (weight row 0) and i
    // (rows 1 + 2); phase 1 reads rows i (rows 0 + 1) and i+1 (row 2).
    const rows = [tf.stack([w0, tf.add(w1, w2)]), tf.stack([tf.add(w0, w1), w2])];
    const cols = (k: tf.Tensor) => {
      const [c0, c1, c2] = tf.unstack(k, 1);
      return [tf.stack([c0, tf.add(c1, c2)], 1), tf.stack([tf.add(c0, c1), c2], 1)];
    };
    const out: tf.Tensor4D[] = [];
    for (const r of rows) for (const k of cols(r)) out.push(k as tf.Tensor4D);
    return out;
  });
}

/**
 * Nearest-neighbour upsampling by 2, reflection padding by 1 and a 3x3 convolution, computed as
 * four 2x2 convolutions at the low resolution (one per output phase) interleaved with
 * depthToSpace: the same numbers with 16/36 of the multiply-adds. Reflection of the upsampled
 * map equals edge replication of the small one, which is what 'symmetric' padding by 1 does.
 */
function upsampleConv(x: tf.Tensor4D, conv: Layer): tf.Tensor4D {
  // Recomputed per call (a few small adds) so the network owns no extra tensors.
  const kernels = phaseKernels(conv.getWeights()[0] as tf.Tensor4D);
  const bias = conv.getWeights()[1];
  const [, h, w] = x.shape;
  const e = tf.mirrorPad(x, [[0, 0], [1, 1], [1, 1], [0, 0]], 'symmetric');
  const phases = kernels.map((k, p) => {
    const a = p >> 1;
    const b = p & 1;
    return tf.conv2d(tf.slice(e, [0, a, b, 0], [-1, h + 1, w + 1, -1]), k, 1, 'valid');
  });
  return tf.add(tf.depthToSpace(tf.concat(phases, 3) as tf.Tensor4D, 2), bias) as tf.Tensor4D;
}

/**
 * Inference of a `buildStyleNetwork` network layer by layer, with each upsample + pad + conv
 * stage replaced by `upsampleConv`; other layers run as themselves. Falls back to `apply` for
 * graphs of another shape. Call inside `tf.tidy`.
 */
export function styleNetworkForward(model: tfl.LayersModel, x: tf.Tensor4D): tf.Tensor4D {
  const layers = model.layers as Layer[];
  const consumers = new Map<string, number>();
  for (const l of layers) for (const i of inputsOf(l)) consumers.set(i.name, (consumers.get(i.name) ?? 0) + 1);
  const out = new Map<string, tf.Tensor>();
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i];
    const cls = l.getClassName();
    if (cls === 'InputLayer') {
      out.set(l.name, x);
      continue;
    }
    const ins = inputsOf(l).map((p) => out.get(p.name));
    if (ins.some((t) => t === undefined)) return model.apply(x, { training: false }) as tf.Tensor4D;
    const pad = layers[i + 1];
    const conv = layers[i + 2];
    if (
      cls === 'UpSampling2D' &&
      pad?.getClassName() === 'CnnvizReflectionPadding2D' &&
      (pad.getConfig() as { padding: number }).padding === 1 &&
      conv?.getClassName() === 'Conv2D' &&
      inputsOf(pad)[0] === l &&
      inputsOf(conv)[0] === pad &&
      consumers.get(l.name) === 1 &&
      consumers.get(pad.name) === 1 &&
      JSON.stringify((conv.getConfig() as { kernel_size?: unknown; kernelSize?: unknown }).kernelSize ?? (conv.getConfig() as { kernel_size?: unknown }).kernel_size) === '[3,3]' &&
      JSON.stringify((conv.getConfig() as { strides: unknown }).strides) === '[1,1]' &&
      (conv.getConfig() as { activation: string }).activation === 'linear'
    ) {
      out.set(conv.name, upsampleConv(ins[0] as tf.Tensor4D, conv));
      i += 2;
      continue;
    }
    out.set(l.name, l.apply(ins.length === 1 ? (ins[0] as tf.Tensor) : (ins as tf.Tensor[]), { training: false }) as tf.Tensor);
  }
  return out.get(layers[layers.length - 1].name) as tf.Tensor4D;
}
