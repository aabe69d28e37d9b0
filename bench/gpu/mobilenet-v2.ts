import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

// MobileNetV2 (alpha 1.0) with Keras' layer names and random weights, for timing only: the bench must run
// from one bundle with no weight files. Same layer sequence as keras.applications.MobileNetV2 (and
// torchvision's mobilenet_v2, up to where the stride-2 padding sits), so FLOPs and kernel shapes match.

export interface ConvSpec {
  kind: 'conv' | 'depthwise';
  /** Conv layer name (weights: kernel, and no bias as in Keras). */
  conv: string;
  /** BatchNormalization layer that follows. */
  bn: string;
  stride: number;
  /** 'same' for stride 1 and the stem; stride-2 depthwise convs pad [0,1] like Keras' correct_pad. */
  pad: 'same' | 'valid';
  zeroPad: boolean;
  relu6: boolean;
  /** Name of the layer whose output this conv (+ BN + ReLU6) produces: the ReLU's, else the BN's. */
  out: string;
}

export interface BlockSpec {
  convs: ConvSpec[];
  residual: boolean;
  /** Name of the residual Add layer. */
  add?: string;
}

export interface MobileNetV2Spec {
  model: tfl.LayersModel;
  /** Stem conv, the 17 inverted-residual blocks, and the final 1x1 conv (each block a list of convs). */
  blocks: BlockSpec[];
  dense: string;
  inputSize: number;
}

function makeDivisible(v: number, divisor = 8): number {
  const n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  return n < 0.9 * v ? n + divisor : n;
}

/** Builds MobileNetV2 with random (Glorot / random BN statistics) weights; the head is a linear Dense of `classes`. */
export function buildMobileNetV2(inputSize = 224, classes = 1000): MobileNetV2Spec {
  const input = tfl.input({ shape: [inputSize, inputSize, 3] });
  const blocks: BlockSpec[] = [];
  const bnLayer = (name: string) => tfl.layers.batchNormalization({ name, epsilon: 1e-3, momentum: 0.999 });
  const relu6 = (name: string) => tfl.layers.reLU({ maxValue: 6, name });

  let x = tfl.layers
    .conv2d({ filters: 32, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'Conv1' })
    .apply(input) as tfl.SymbolicTensor;
  x = bnLayer('bn_Conv1').apply(x) as tfl.SymbolicTensor;
  x = relu6('Conv1_relu').apply(x) as tfl.SymbolicTensor;
  blocks.push({
    convs: [
      {
        kind: 'conv',
        conv: 'Conv1',
        bn: 'bn_Conv1',
        stride: 2,
        pad: 'same',
        zeroPad: false,
        relu6: true,
        out: 'Conv1_relu',
      },
    ],
    residual: false,
  });

  let inChannels = 32;
  const cfg: [number, number, number, number][] = [
    // [expansion, filters, repeats, first stride]
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ];
  let blockId = 0;
  for (const [expansion, filters, repeats, firstStride] of cfg) {
    for (let r = 0; r < repeats; r++) {
      const stride = r === 0 ? firstStride : 1;
      const out = makeDivisible(filters);
      const prefix = blockId === 0 ? 'expanded_conv_' : `block_${blockId}_`;
      const convs: ConvSpec[] = [];
      const blockInput = x;
      if (blockId > 0) {
        x = tfl.layers
          .conv2d({
            filters: expansion * inChannels,
            kernelSize: 1,
            padding: 'same',
            useBias: false,
            name: `${prefix}expand`,
          })
          .apply(x) as tfl.SymbolicTensor;
        x = bnLayer(`${prefix}expand_BN`).apply(x) as tfl.SymbolicTensor;
        x = relu6(`${prefix}expand_relu`).apply(x) as tfl.SymbolicTensor;
        convs.push({
          kind: 'conv',
          conv: `${prefix}expand`,
          bn: `${prefix}expand_BN`,
          stride: 1,
          pad: 'same',
          zeroPad: false,
          relu6: true,
          out: `${prefix}expand_relu`,
        });
      }
      if (stride === 2) {
        x = tfl.layers
          .zeroPadding2d({
            padding: [
              [0, 1],
              [0, 1],
            ],
            name: `${prefix}pad`,
          })
          .apply(x) as tfl.SymbolicTensor;
      }
      x = tfl.layers
        .depthwiseConv2d({
          kernelSize: 3,
          strides: stride,
          padding: stride === 2 ? 'valid' : 'same',
          useBias: false,
          name: `${prefix}depthwise`,
          depthwiseInitializer: 'glorotUniform',
        })
        .apply(x) as tfl.SymbolicTensor;
      x = bnLayer(`${prefix}depthwise_BN`).apply(x) as tfl.SymbolicTensor;
      x = relu6(`${prefix}depthwise_relu`).apply(x) as tfl.SymbolicTensor;
      convs.push({
        kind: 'depthwise',
        conv: `${prefix}depthwise`,
        bn: `${prefix}depthwise_BN`,
        stride,
        pad: stride === 2 ? 'valid' : 'same',
        zeroPad: stride === 2,
        relu6: true,
        out: `${prefix}depthwise_relu`,
      });
      x = tfl.layers
        .conv2d({ filters: out, kernelSize: 1, padding: 'same', useBias: false, name: `${prefix}project` })
        .apply(x) as tfl.SymbolicTensor;
      x = bnLayer(`${prefix}project_BN`).apply(x) as tfl.SymbolicTensor;
      convs.push({
        kind: 'conv',
        conv: `${prefix}project`,
        bn: `${prefix}project_BN`,
        stride: 1,
        pad: 'same',
        zeroPad: false,
        relu6: false,
        out: `${prefix}project_BN`,
      });
      const residual = inChannels === out && stride === 1;
      if (residual) x = tfl.layers.add({ name: `${prefix}add` }).apply([blockInput, x]) as tfl.SymbolicTensor;
      blocks.push({ convs, residual, ...(residual ? { add: `${prefix}add` } : {}) });
      inChannels = out;
      blockId++;
    }
  }
  x = tfl.layers
    .conv2d({ filters: 1280, kernelSize: 1, useBias: false, name: 'Conv_1' })
    .apply(x) as tfl.SymbolicTensor;
  x = bnLayer('Conv_1_bn').apply(x) as tfl.SymbolicTensor;
  x = relu6('out_relu').apply(x) as tfl.SymbolicTensor;
  blocks.push({
    convs: [
      {
        kind: 'conv',
        conv: 'Conv_1',
        bn: 'Conv_1_bn',
        stride: 1,
        pad: 'same',
        zeroPad: false,
        relu6: true,
        out: 'out_relu',
      },
    ],
    residual: false,
  });
  x = tfl.layers.globalAveragePooling2d({ name: 'global_average_pooling2d' }).apply(x) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ units: classes, name: 'predictions' }).apply(x) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: logits, name: 'mobilenetv2_random' });
  randomizeWeights(model);
  return { model, blocks, dense: 'predictions', inputSize };
}

// tfjs-layers' Glorot default shrinks depthwise outputs by ~2/C per layer, so after 17 blocks the logits and
// gradients underflow (1e-14) and comparisons become vacuous. He-normal on each kernel keeps them O(1); fresh BN
// layers are the identity, so they get plausible statistics too (which also exercises BN folding).
function randomizeWeights(model: tfl.LayersModel): void {
  let seed = 7;
  const rand = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls !== 'Conv2D' && cls !== 'DepthwiseConv2D') continue;
    const [kernel] = layer.getWeights();
    const [kh, kw, ci] = kernel.shape;
    const fanIn = cls === 'Conv2D' ? kh * kw * ci : kh * kw;
    const std = Math.sqrt(2 / fanIn);
    const next = tf.tensor(
      Float32Array.from({ length: kernel.size }, () => std * gauss()),
      kernel.shape,
    );
    layer.setWeights([next]);
    next.dispose();
  }
  randomizeBatchNorm(model);
}

// Fresh BN layers are the identity (mean 0, var 1, gamma 1, beta 0); give them plausible statistics so folding
// is exercised and activations neither vanish nor explode through 17 blocks.
function randomizeBatchNorm(model: tfl.LayersModel): void {
  let seed = 1;
  const rand = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const [gamma, beta, mean, variance] = layer.getWeights();
    const n = gamma.shape[0];
    const vals = (f: () => number) => tf.tensor1d(Array.from({ length: n }, f));
    const next = [
      vals(() => 0.5 + rand()),
      vals(() => 0.2 * (rand() - 0.5)),
      vals(() => 0.2 * (rand() - 0.5)),
      vals(() => 0.5 + rand()),
    ];
    layer.setWeights(next);
    // getWeights() returns the layer's own variables (not copies): only our new values are freed.
    void [beta, mean, variance];
    tf.dispose(next);
  }
}

export interface FoldedConv {
  kind: 'conv' | 'depthwise';
  filter: tf.Tensor4D;
  bias: tf.Tensor1D;
  stride: number;
  pad: 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];
  relu6: boolean;
  out: string;
}

export interface FoldedMobileNetV2 {
  blocks: { convs: FoldedConv[]; residual: boolean; add?: string }[];
  denseKernel: tf.Tensor2D;
  denseBias: tf.Tensor1D;
  dispose(): void;
}

/**
 * Folds each BatchNormalization into the conv before it (inference BN is affine per channel), so a conv, its BN
 * and its ReLU6 become one fused conv with bias and activation. Keras' ZeroPadding2D([0,1]) + 'valid' becomes
 * explicit padding on the conv itself.
 */
export function foldMobileNetV2(spec: MobileNetV2Spec): FoldedMobileNetV2 {
  const layer = (name: string) => spec.model.getLayer(name);
  const blocks = spec.blocks.map((b) => ({
    residual: b.residual,
    add: b.add,
    convs: b.convs.map((c): FoldedConv => {
      const [filter, bias] = tf.tidy(() => {
        const [kernel] = layer(c.conv).getWeights();
        const [gamma, beta, mean, variance] = layer(c.bn).getWeights();
        const scale = tf.div(gamma, tf.sqrt(tf.add(variance, 1e-3)));
        // conv: [kh,kw,ci,co] scales along co; depthwise: [kh,kw,c,1] scales along c.
        const f =
          c.kind === 'conv' ? tf.mul(kernel, scale) : tf.mul(kernel, tf.reshape(scale, [1, 1, -1, 1]));
        return [f as tf.Tensor4D, tf.sub(beta, tf.mul(mean, scale)) as tf.Tensor1D] as const;
      });
      const pad: FoldedConv['pad'] = c.zeroPad
        ? [
            [0, 0],
            [0, 1],
            [0, 1],
            [0, 0],
          ]
        : c.pad;
      return { kind: c.kind, filter, bias, stride: c.stride, pad, relu6: c.relu6, out: c.out };
    }),
  }));
  const [denseKernel, denseBias] = layer(spec.dense).getWeights() as [tf.Tensor2D, tf.Tensor1D];
  const dk = tf.clone(denseKernel);
  const db = tf.clone(denseBias);
  return {
    blocks,
    denseKernel: dk,
    denseBias: db,
    dispose() {
      for (const b of blocks) for (const c of b.convs) tf.dispose([c.filter, c.bias]);
      tf.dispose([dk, db]);
    },
  };
}
