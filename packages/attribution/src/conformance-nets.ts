import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

// Test helper (not exported from the package): the conformance suite's architectures, built in tfjs-layers the way
// users build theirs. Each builder makes the model under test (`ref: false`) or its reference twin (`ref: true`):
// the same layers and weights, computed only with ops stock TF.js can differentiate — a dilated convolution becomes
// an undilated one with the zero-inserted kernel, a final softmax is left out (cnnviz scores pre-softmax logits).

export const SIZE = 8;
export const CLASSES = 3;

type L = tfl.SymbolicTensor;
type Build = (ref: boolean) => tfl.LayersModel;

let seed = 1;
const init = () => tfl.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: seed++ });
const pos = () => tfl.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: seed++ });

/** Conv2D/DepthwiseConv2D/SeparableConv2D args with a dilation that the reference spells as a bigger kernel. */
function dilated<T extends { kernelSize: number; dilationRate?: number }>(ref: boolean, a: T): T {
  const d = a.dilationRate ?? 1;
  return ref && d > 1 ? { ...a, kernelSize: (a.kernelSize - 1) * d + 1, dilationRate: 1 } : a;
}

const conv = (x: L, name: string, filters: number, a: Record<string, unknown> = {}) =>
  tfl.layers
    .conv2d({
      name,
      filters,
      kernelSize: 3,
      padding: 'same',
      kernelInitializer: init(),
      biasInitializer: init(),
      ...a,
    })
    .apply(x) as L;
const bn = (x: L, name: string, a: Record<string, unknown> = {}) =>
  tfl.layers
    .batchNormalization({
      name,
      gammaInitializer: pos(),
      betaInitializer: init(),
      movingMeanInitializer: init(),
      movingVarianceInitializer: pos(),
      ...a,
    })
    .apply(x) as L;
const dense = (x: L, name: string, units = CLASSES, activation?: string) =>
  tfl.layers
    .dense({
      name,
      units,
      kernelInitializer: init(),
      biasInitializer: init(),
      activation: activation as 'linear' | undefined,
    })
    .apply(x) as L;
const gap = (x: L, name = 'gap') => tfl.layers.globalAveragePooling2d({ name }).apply(x) as L;
const flat = (x: L, name = 'flatten') => tfl.layers.flatten({ name }).apply(x) as L;

function functional(name: string, body: (x: L, ref: boolean) => L, channels = 3): Build {
  return (ref) => {
    const input = tfl.input({ shape: [SIZE, SIZE, channels], name: 'input' });
    return tfl.model({ inputs: input, outputs: body(input, ref), name });
  };
}

/** Conv layers with each activation string, then GAP + Dense. */
function activations(names: string[]): (x: L) => L {
  return (x) => {
    let y = x;
    names.forEach((a, i) => {
      y = conv(y, `conv_${a}`, 4, { activation: a, kernelSize: i % 2 === 0 ? 3 : 1 });
    });
    return dense(gap(y), 'logits');
  };
}

export interface Architecture {
  name: string;
  build: Build;
}

/** The suite's architectures: together they use every CNN layer class and activation tfjs-layers has. */
export const ARCHITECTURES: Architecture[] = [
  {
    name: 'sequential-cnn',
    build: () =>
      tfl.sequential({
        name: 'seq',
        layers: [
          tfl.layers.conv2d({
            name: 'conv1',
            inputShape: [SIZE, SIZE, 3],
            filters: 4,
            kernelSize: 3,
            activation: 'relu',
            kernelInitializer: init(),
            biasInitializer: init(),
          }),
          tfl.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
          tfl.layers.flatten({ name: 'flatten' }),
          tfl.layers.dense({ name: 'logits', units: CLASSES, kernelInitializer: init() }),
        ],
      }),
  },
  {
    name: 'dilated-conv',
    build: functional('dilated', (x, ref) => {
      const c = conv(x, 'atrous', 4, dilated(ref, { kernelSize: 3, dilationRate: 2, activation: 'relu' }));
      const d = conv(
        c,
        'atrous_valid',
        4,
        dilated(ref, { kernelSize: 2, dilationRate: 3, padding: 'valid' }),
      );
      return dense(gap(d), 'logits');
    }),
  },
  {
    name: 'dilated-depthwise-multiplier',
    build: functional('dw', (x, ref) => {
      const d = tfl.layers
        .depthwiseConv2d({
          name: 'dw',
          depthMultiplier: 2,
          padding: 'same',
          depthwiseInitializer: init(),
          biasInitializer: init(),
          ...dilated(ref, { kernelSize: 3, dilationRate: 2 }),
        })
        .apply(x) as L;
      const r = tfl.layers.reLU({ name: 'dw_relu' }).apply(bn(d, 'dw_bn')) as L;
      return dense(tfl.layers.globalMaxPooling2d({ name: 'gmp' }).apply(r) as L, 'logits');
    }),
  },
  {
    name: 'dilated-separable',
    build: functional('sep', (x, ref) => {
      const s = tfl.layers
        .separableConv2d({
          name: 'sep',
          filters: 4,
          depthMultiplier: 2,
          padding: 'same',
          activation: 'elu',
          depthwiseInitializer: init(),
          pointwiseInitializer: init(),
          biasInitializer: init(),
          ...dilated(ref, { kernelSize: 3, dilationRate: 2 }),
        })
        .apply(x) as L;
      const p = tfl.layers.averagePooling2d({ name: 'avg', poolSize: 2 }).apply(s) as L;
      return dense(flat(p), 'logits');
    }),
  },
  {
    name: 'resnet-block',
    build: functional('res', (x) => {
      const a = tfl.layers.reLU({ name: 'relu1' }).apply(bn(conv(x, 'conv1', 4), 'bn1')) as L;
      const b = bn(conv(a, 'conv2', 4), 'bn2');
      const skip = conv(x, 'proj', 4, { kernelSize: 1 });
      const s = tfl.layers.add({ name: 'add' }).apply([b, skip]) as L;
      const r = tfl.layers.activation({ name: 'relu2', activation: 'relu' }).apply(s) as L;
      return dense(gap(r), 'logits');
    }),
  },
  {
    name: 'squeeze-excitation',
    build: functional('se', (x) => {
      const c = conv(x, 'conv', 4, { activation: 'swish' });
      const s = dense(gap(c, 'squeeze'), 'fc1', 2, 'relu');
      const e = dense(s, 'fc2', 4, 'sigmoid');
      const w = tfl.layers.reshape({ name: 'se_reshape', targetShape: [1, 1, 4] }).apply(e) as L;
      const m = tfl.layers.multiply({ name: 'excite' }).apply([c, w]) as L;
      const cat = tfl.layers.concatenate({ name: 'concat' }).apply([m, c]) as L;
      return dense(gap(cat), 'logits');
    }),
  },
  {
    name: 'depthwise-layernorm-upsampling',
    build: functional('dwln', (x) => {
      const d = tfl.layers
        .depthwiseConv2d({
          name: 'dw',
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          depthwiseInitializer: init(),
        })
        .apply(x) as L;
      const n = tfl.layers
        .layerNormalization({ name: 'ln', gammaInitializer: pos(), betaInitializer: init() })
        .apply(d) as L;
      const u = tfl.layers.upSampling2d({ name: 'up', size: [2, 2] }).apply(n) as L;
      return dense(gap(conv(u, 'conv', 4, { activation: 'relu' })), 'logits');
    }),
  },
  {
    name: 'transposed-crop-maximum',
    build: functional('tconv', (x) => {
      const t = tfl.layers
        .conv2dTranspose({
          name: 'tconv',
          filters: 3,
          kernelSize: 3,
          strides: 2,
          padding: 'same',
          kernelInitializer: init(),
          biasInitializer: init(),
        })
        .apply(x) as L;
      const c = tfl.layers.cropping2D({ name: 'crop', cropping: [4, 4] }).apply(t) as L;
      const m = tfl.layers.maximum({ name: 'max' }).apply([c, x]) as L;
      return dense(flat(conv(m, 'conv', 2, { strides: 2 })), 'logits');
    }),
  },
  {
    name: 'activation-layers',
    build: functional('actl', (x, ref) => {
      let y = tfl.layers.leakyReLU({ name: 'leaky', alpha: 0.2 }).apply(conv(x, 'c1', 4)) as L;
      y = tfl.layers.prelu({ name: 'prelu', alphaInitializer: init() }).apply(conv(y, 'c2', 4)) as L;
      y = tfl.layers.elu({ name: 'elu' }).apply(conv(y, 'c3', 4)) as L;
      y = tfl.layers.thresholdedReLU({ name: 'thresh', theta: 0.1 }).apply(conv(y, 'c4', 4)) as L;
      y = tfl.layers.softmax({ name: 'channel_softmax', axis: -1 }).apply(conv(y, 'c5', 4)) as L;
      const logits = dense(gap(y), 'logits');
      return ref ? logits : (tfl.layers.softmax({ name: 'probs' }).apply(logits) as L);
    }),
  },
  {
    name: 'activation-strings-a',
    build: functional('acta', activations(['relu', 'relu6', 'elu', 'selu', 'softplus', 'softsign'])),
  },
  {
    name: 'activation-strings-b',
    build: functional('actb', activations(['tanh', 'sigmoid', 'hardSigmoid', 'swish', 'mish'])),
  },
  {
    name: 'activation-strings-c',
    build: functional('actc', (x, ref) => {
      const y = activations(['gelu', 'linear', 'softmax'])(x);
      return ref ? y : (tfl.layers.activation({ name: 'probs', activation: 'softmax' }).apply(y) as L);
    }),
  },
  {
    name: 'dense-softmax-head',
    build: functional('dsm', (x, ref) =>
      dense(flat(conv(x, 'conv', 2)), 'probs', CLASSES, ref ? 'linear' : 'softmax'),
    ),
  },
  {
    name: 'dropout-variants',
    build: functional('drop', (x) => {
      let y = tfl.layers.dropout({ name: 'dropout', rate: 0.5 }).apply(conv(x, 'conv', 4)) as L;
      y = tfl.layers.gaussianDropout({ name: 'gdrop', rate: 0.3 }).apply(y) as L;
      y = tfl.layers.gaussianNoise({ name: 'gnoise', stddev: 0.3 }).apply(y) as L;
      y = tfl.layers.alphaDropout({ name: 'adrop', rate: 0.3 }).apply(y) as L;
      const seq = tfl.layers.reshape({ name: 'to_seq', targetShape: [SIZE * SIZE, 4] }).apply(y) as L;
      const s = tfl.layers.spatialDropout1d({ name: 'sdrop', rate: 0.5 }).apply(seq) as L;
      return dense(flat(s), 'logits');
    }),
  },
  {
    name: 'merges',
    build: functional('merge', (x) => {
      const a = conv(x, 'a', 4);
      const b = conv(x, 'b', 4, { activation: 'tanh' });
      const c = conv(x, 'c', 4, { activation: 'sigmoid' });
      const sub = tfl.layers.average({ name: 'average2' }).apply([a, b]) as L;
      const avg = tfl.layers.average({ name: 'average' }).apply([a, b, c]) as L;
      const mn = tfl.layers.minimum({ name: 'minimum' }).apply([sub, c]) as L;
      const mx = tfl.layers.maximum({ name: 'maximum' }).apply([avg, mn]) as L;
      const mul = tfl.layers.multiply({ name: 'multiply' }).apply([mx, c]) as L;
      const add = tfl.layers.add({ name: 'add' }).apply([mul, a, b]) as L;
      return dense(gap(add), 'logits');
    }),
  },
  {
    name: 'dot-product',
    build: functional('dot', (x) => {
      const f = flat(conv(x, 'conv', 2, { strides: 2 }));
      const u = dense(f, 'u', 4, 'tanh');
      const v = dense(f, 'v', 4);
      const d = tfl.layers.dot({ name: 'dot', axes: 1 }).apply([u, v]) as L;
      const cat = tfl.layers.concatenate({ name: 'concat' }).apply([d, u]) as L;
      return dense(cat, 'logits');
    }),
  },
  {
    name: 'permute-reshape',
    build: functional('perm', (x) => {
      const p = tfl.layers.permute({ name: 'permute', dims: [2, 1, 3] }).apply(conv(x, 'conv', 4)) as L;
      const r = tfl.layers.reshape({ name: 'reshape', targetShape: [SIZE / 2, SIZE * 2, 4] }).apply(p) as L;
      return dense(flat(conv(r, 'conv2', 2, { strides: 2 })), 'logits');
    }),
  },
  {
    name: 'zeropad-bn-relu6',
    build: functional('zp', (x) => {
      const z = tfl.layers
        .zeroPadding2d({
          name: 'pad',
          padding: [
            [1, 0],
            [0, 1],
          ],
        })
        .apply(x) as L;
      const c = conv(z, 'conv', 4, { padding: 'valid', strides: 2, useBias: false });
      const r = tfl.layers.reLU({ name: 'relu6', maxValue: 6 }).apply(bn(c, 'bn')) as L;
      return dense(gap(r), 'logits');
    }),
  },
  {
    name: 'rescaling',
    build: functional('pre', (x) => {
      const s = tfl.layers.rescaling({ name: 'rescale', scale: 2, offset: -1 }).apply(x) as L;
      // Resizing and CenterCrop are left out. tfjs-layers 4.22: Resizing's symbolic output lacks the batch axis
      // ([10,10,8] for [null,8,8,3]) so no layer can follow it, and fails inside model.apply (it resizes the input
      // array); CenterCrop runs tf.image.cropAndResize, which has no gradient.
      return dense(gap(conv(s, 'conv', 4, { activation: 'relu' })), 'logits');
    }),
  },
  {
    name: 'mlp',
    build: functional('mlp', (x) => dense(dense(flat(x), 'hidden', 8, 'relu'), 'logits')),
  },
  {
    name: 'conv1d-pooling1d',
    build: functional(
      'c1d',
      (x) => {
        const seq = tfl.layers.reshape({ name: 'rows', targetShape: [SIZE, SIZE * 3] }).apply(x) as L;
        const c = tfl.layers
          .conv1d({
            name: 'conv1d',
            filters: 4,
            kernelSize: 3,
            activation: 'relu',
            kernelInitializer: init(),
          })
          .apply(seq) as L;
        const m = tfl.layers.maxPooling1d({ name: 'maxpool1d', poolSize: 2 }).apply(c) as L;
        const a = tfl.layers.averagePooling1d({ name: 'avgpool1d', poolSize: 1 }).apply(m) as L;
        return dense(tfl.layers.globalAveragePooling1d({ name: 'gap1d' }).apply(a) as L, 'logits');
      },
      3,
    ),
  },
  {
    name: 'strided-pooling',
    build: functional('strided', (x) => {
      const c = conv(x, 'conv_s2', 4, { strides: 2, padding: 'valid', activation: 'relu' });
      const p = tfl.layers
        .maxPooling2d({ name: 'pool', poolSize: 2, strides: 1, padding: 'same' })
        .apply(c) as L;
      const a = tfl.layers
        .averagePooling2d({ name: 'avg', poolSize: 3, strides: 2, padding: 'same' })
        .apply(p) as L;
      return dense(flat(a), 'logits');
    }),
  },
  {
    name: 'inception-block',
    build: functional('incep', (x) => {
      const b1 = conv(x, 'b1x1', 2, { kernelSize: 1, activation: 'relu' });
      const b3 = conv(conv(x, 'b3_reduce', 2, { kernelSize: 1 }), 'b3x3', 2, { activation: 'relu' });
      const bp = conv(
        tfl.layers.maxPooling2d({ name: 'bpool', poolSize: 3, strides: 1, padding: 'same' }).apply(x) as L,
        'bpool_proj',
        2,
        { kernelSize: 1 },
      );
      const cat = tfl.layers.concatenate({ name: 'mixed' }).apply([b1, b3, bp]) as L;
      return dense(gap(cat), 'logits');
    }),
  },
  {
    name: 'inverted-residual',
    build: functional('mbv2', (x) => {
      const e = conv(x, 'expand', 12, { kernelSize: 1, activation: 'relu6', useBias: false });
      const d = tfl.layers
        .depthwiseConv2d({
          name: 'depthwise',
          kernelSize: 3,
          padding: 'same',
          depthwiseInitializer: init(),
          useBias: false,
        })
        .apply(bn(e, 'expand_bn')) as L;
      const r = tfl.layers.reLU({ name: 'depthwise_relu', maxValue: 6 }).apply(bn(d, 'depthwise_bn')) as L;
      const p = bn(conv(r, 'project', 3, { kernelSize: 1, useBias: false }), 'project_bn');
      const s = tfl.layers.add({ name: 'residual' }).apply([x, p]) as L;
      return dense(gap(s), 'logits');
    }),
  },
  {
    name: 'norms-without-affine',
    build: functional('noaff', (x, ref) => {
      // LayerNormalization stays affine: tfjs-layers' own apply fails without gamma/beta (the reference runs it).
      // The reference keeps gamma = 1, beta = 0: tf.batchNorm's gradient throws without them.
      const b = bn(
        conv(x, 'conv', 4),
        'bn_plain',
        ref ? { gammaInitializer: 'ones', betaInitializer: 'zeros' } : { center: false, scale: false },
      );
      const n = tfl.layers
        .layerNormalization({ name: 'ln', gammaInitializer: pos(), betaInitializer: init() })
        .apply(b) as L;
      return dense(gap(tfl.layers.activation({ name: 'act', activation: 'relu' }).apply(n) as L), 'logits');
    }),
  },
  {
    name: 'bilinear-upsampling',
    build: functional('bilin', (x) => {
      const p = tfl.layers.averagePooling2d({ name: 'down', poolSize: 2 }).apply(conv(x, 'conv', 4)) as L;
      const u = tfl.layers
        .upSampling2d({ name: 'up', size: [2, 2], interpolation: 'bilinear' })
        .apply(p) as L;
      return dense(gap(conv(u, 'conv2', 4, { activation: 'relu' })), 'logits');
    }),
  },
  {
    name: 'dense-on-feature-map',
    build: functional('dfm', (x) => {
      const d = dense(conv(x, 'conv', 4, { activation: 'relu' }), 'pixelwise', 4, 'tanh');
      return dense(gap(d), 'logits');
    }),
  },
  {
    name: 'grayscale-sequential',
    build: () =>
      tfl.sequential({
        name: 'gray',
        layers: [
          tfl.layers.conv2d({
            name: 'conv',
            inputShape: [SIZE, SIZE, 1],
            filters: 3,
            kernelSize: 3,
            padding: 'same',
            activation: 'relu',
            kernelInitializer: init(),
          }),
          tfl.layers.maxPooling2d({ name: 'pool', poolSize: 2 }),
          tfl.layers.flatten({ name: 'flatten' }),
          tfl.layers.dense({ name: 'logits', units: CLASSES, kernelInitializer: init() }),
        ],
      }),
  },
];

/** Builds an architecture and its reference twin with the same weights (dilated kernels zero-inserted). */
export function buildPair(a: Architecture): { model: tfl.LayersModel; ref: tfl.LayersModel } {
  seed = 1;
  const model = a.build(false);
  seed = 1;
  const ref = a.build(true);
  const byName = new Map(model.layers.map((l) => [l.name, l]));
  for (const r of ref.layers) {
    const m = byName.get(r.name);
    if (!m) continue;
    // By weight name: the reference may hold more (gamma/beta the model leaves out).
    const short = (w: tfl.LayerVariable) => w.originalName.split('/').pop()!;
    const mine = new Map(m.weights.map((w) => [short(w), w.read()]));
    const copied = r.weights.map((rw) => {
      const w = mine.get(short(rw));
      if (w === undefined) return rw.read();
      if (tf.util.arraysEqual(w.shape, rw.shape as number[])) return w;
      const [fh, fw] = w.shape;
      const d = Math.round((rw.shape[0]! - 1) / (fh - 1));
      const dw = Math.round((rw.shape[1]! - 1) / (fw - 1));
      return zeroInsert(w as tf.Tensor4D, d, dw);
    });
    r.setWeights(copied);
  }
  return { model, ref };
}

/**
 * Zero insertion of an HWIO kernel's values, [(fh-1)·dh+1, (fw-1)·dw+1, a, b] (written independently of core's
 * dilateFilter, which is what the suite checks).
 */
export function zeroInsertValues(
  src: ArrayLike<number>,
  shape: number[],
  dh: number,
  dw: number,
): { data: Float32Array; shape: number[] } {
  const [fh, fw, a, b] = shape;
  const H = (fh - 1) * dh + 1;
  const W = (fw - 1) * dw + 1;
  const data = new Float32Array(H * W * a * b);
  for (let i = 0; i < fh; i++)
    for (let j = 0; j < fw; j++)
      for (let k = 0; k < a * b; k++) data[(i * dh * W + j * dw) * a * b + k] = src[(i * fw + j) * a * b + k];
  return { data, shape: [H, W, a, b] };
}

function zeroInsert(w: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  const z = zeroInsertValues(w.dataSync(), w.shape, dh, dw);
  return tf.tensor4d(z.data, z.shape as [number, number, number, number]);
}

/**
 * Runs a tfjs-layers model layer by layer with tfjs's own layer implementations (eager `apply`), optionally
 * replacing one layer's output: the reference for gradients with respect to an intermediate activation.
 */
export function runLayers(
  model: tfl.LayersModel,
  x: tf.Tensor,
  replace?: { layer: string; value: tf.Tensor },
): Map<string, tf.Tensor> {
  const values = new Map<string, tf.Tensor>();
  values.set(model.inputs[0].sourceLayer.name, x);
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const node = layer.inboundNodes.find((n) => n.inboundLayers.every((l) => values.has(l.name)));
    const ins = node!.inboundLayers.map((l) => values.get(l.name)!);
    const out =
      replace?.layer === layer.name
        ? replace.value
        : (layer.apply(ins.length === 1 ? ins[0] : ins, { training: false }) as tf.Tensor);
    values.set(layer.name, out);
  }
  return values;
}
