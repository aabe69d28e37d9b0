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
 * four 2x2 convolutions at the low resolution (one per output phase), interleaved: the same numbers with 16/36 of the multiply-adds. Reflection of the upsampled
 * map equals edge replication of the small one, which is what 'symmetric' padding by 1 does.
 */
function upsampleConv(x: tf.Tensor4D, conv: Layer): tf.Tensor4D {
  // Recomputed per call (a few small adds) so the network owns no extra tensors.
  const kernels = phaseKernels(conv.getWeights()[0] as tf.Tensor4D);
  const bias = conv.getWeights()[1];
  const [, h, w] = x.shape;
  const e = tf.mirrorPad(
    x,
    [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
    'symmetric',
  );
  const phases = kernels.map((k, p) => {
    const a = p >> 1;
    const b = p & 1;
    return tf.conv2d(tf.slice(e, [0, a, b, 0], [-1, h + 1, w + 1, -1]), k, 1, 'valid');
  });
  // Interleave with stack + reshape (cheaper than depthToSpace on WASM): columns, then rows.
  const c = phases[0].shape[3];
  const row = (p0: tf.Tensor, p1: tf.Tensor) => tf.reshape(tf.stack([p0, p1], 3), [-1, h, 2 * w, c]);
  const y = tf.reshape(tf.stack([row(phases[0], phases[1]), row(phases[2], phases[3])], 2), [
    -1,
    2 * h,
    2 * w,
    c,
  ]);
  return tf.add(y, bias) as tf.Tensor4D;
}

/** [n,H,W,C] -> [n,H/2,W/2,4C], channel index (p*2+q)*C + c for source pixel (2i+p, 2j+q). */
function spaceToDepth2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  return tf.reshape(tf.transpose(tf.reshape(x, [n, h / 2, 2, w / 2, 2, c]), [0, 1, 3, 2, 4, 5]), [
    n,
    h / 2,
    w / 2,
    4 * c,
  ]);
}

/** The inverse of `spaceToDepth2`. */
function depthToSpace2(y: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c4] = y.shape;
  const c = c4 / 4;
  return tf.reshape(tf.transpose(tf.reshape(y, [n, h, w, 2, 2, c]), [0, 1, 3, 2, 4, 5]), [
    n,
    2 * h,
    2 * w,
    c,
  ]);
}

/**
 * A stride-1 'valid' convolution with a large odd kernel (the 9x9 first and last layers),
 * computed on the space-to-depth image: a (k+1)/2 kernel with 4x the input and output channels,
 * one output phase per channel group. Same numbers; WASM's convolution is several times faster
 * with 12..64 channels than with the 3 of an RGB image.
 */
function spaceToDepthConv(x: tf.Tensor4D, conv: Layer): tf.Tensor4D {
  const [w, bias] = conv.getWeights() as [tf.Tensor4D, tf.Tensor];
  const [k, , ci, co] = w.shape;
  const kk = (k + 1) / 2;
  const wp = tf.pad(w, [
    [1, 1],
    [1, 1],
    [0, 0],
    [0, 0],
  ]);
  const phases: tf.Tensor[] = [];
  for (let a = 0; a < 2; a++)
    for (let b = 0; b < 2; b++) {
      const parts: tf.Tensor[] = [];
      for (let p = 0; p < 2; p++)
        for (let q = 0; q < 2; q++) {
          // Output (2i+a, 2j+b) reads source (2(i+ky)+p, 2(j+kx)+q): kernel tap (2ky+p-a, 2kx+q-b).
          const r0 = p - a + 1;
          const c0 = q - b + 1;
          parts.push(
            tf.stridedSlice(
              wp,
              [r0, c0, 0, 0],
              [r0 + 2 * (kk - 1) + 1, c0 + 2 * (kk - 1) + 1, ci, co],
              [2, 2, 1, 1],
            ),
          );
        }
      phases.push(tf.concat(parts, 2));
    }
  const kernel = tf.concat(phases, 3) as tf.Tensor4D;
  const y = tf.conv2d(spaceToDepth2(x), kernel, 1, 'valid');
  return tf.add(depthToSpace2(y), bias) as tf.Tensor4D;
}

function canSpaceToDepth(conv: Layer, x: tf.Tensor4D): boolean {
  const cfg = conv.getConfig() as {
    kernelSize: number[];
    strides: number[];
    padding: string;
    activation: string;
    dilationRate: number[] | number;
  };
  const k = cfg.kernelSize;
  return (
    k[0] === k[1] &&
    k[0] >= 7 &&
    k[0] % 2 === 1 &&
    cfg.strides[0] === 1 &&
    cfg.strides[1] === 1 &&
    cfg.padding === 'valid' &&
    cfg.activation === 'linear' &&
    JSON.stringify(cfg.dilationRate) === JSON.stringify([1, 1]) &&
    x.shape[1] % 2 === 0 &&
    x.shape[2] % 2 === 0
  );
}

/**
 * Inference of a `buildStyleNetwork` network layer by layer, with each upsample + pad + conv
 * stage replaced by `upsampleConv`; other layers run as themselves. Falls back to `apply` for
 * graphs of another shape. Call inside `tf.tidy`.
 */
export function styleNetworkForward(model: tfl.LayersModel, x: tf.Tensor4D): tf.Tensor4D {
  const layers = model.layers as Layer[];
  const consumers = new Map<string, number>();
  for (const l of layers)
    for (const i of inputsOf(l)) consumers.set(i.name, (consumers.get(i.name) ?? 0) + 1);
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
      JSON.stringify(
        (conv.getConfig() as { kernel_size?: unknown; kernelSize?: unknown }).kernelSize ??
          (conv.getConfig() as { kernel_size?: unknown }).kernel_size,
      ) === '[3,3]' &&
      JSON.stringify((conv.getConfig() as { strides: unknown }).strides) === '[1,1]' &&
      (conv.getConfig() as { activation: string }).activation === 'linear'
    ) {
      out.set(conv.name, upsampleConv(ins[0] as tf.Tensor4D, conv));
      i += 2;
      continue;
    }
    if (cls === 'Conv2D' && canSpaceToDepth(l, ins[0] as tf.Tensor4D)) {
      out.set(l.name, spaceToDepthConv(ins[0] as tf.Tensor4D, l));
      continue;
    }
    out.set(
      l.name,
      l.apply(ins.length === 1 ? (ins[0] as tf.Tensor) : (ins as tf.Tensor[]), {
        training: false,
      }) as tf.Tensor,
    );
  }
  return out.get(layers[layers.length - 1].name) as tf.Tensor4D;
}
