import * as tf from '@tensorflow/tfjs-core';
import { fusedInputOnlyConv2d, type LayerInfo, type VisionModel } from '@cnnviz/core';
import type { FoldedMobileNetV2, MobileNetV2Spec } from './mobilenet-v2.js';

/**
 * MobileNetV2 as a VisionModel the way cnnviz should run a Keras model on a GPU: BatchNorm folded into the
 * conv before it, and conv + bias + ReLU6 as one fused kernel whose gradient is input-only
 * (`fusedInputOnlyConv2d`). Taps use the Keras layer names (`block_13_expand_relu`, `block_3_add`, ...).
 * `outputLayer` cuts the network there (logits = its global average), like fromLayersModel's option.
 */
export function foldedVisionModel(
  spec: MobileNetV2Spec,
  net: FoldedMobileNetV2,
  options: { outputLayer?: string } = {},
): VisionModel {
  const layers: LayerInfo[] = [];
  const shapeOf = (name: string) => (spec.model.getLayer(name).outputShape as (number | null)[]).slice(1);
  for (const b of net.blocks) {
    for (const c of b.convs)
      layers.push({
        name: c.out,
        kind: c.kind === 'conv' ? 'Conv2D' : 'DepthwiseConv2D',
        outputShape: shapeOf(c.out),
      });
    if (b.add !== undefined) layers.push({ name: b.add, kind: 'Add', outputShape: shapeOf(b.add) });
  }
  const cut = options.outputLayer;
  if (cut === undefined) layers.push({ name: spec.dense, kind: 'Dense', outputShape: shapeOf(spec.dense) });
  else layers.splice(layers.findIndex((l) => l.name === cut) + 1);
  const size = spec.inputSize;
  return {
    inputShape: [size, size, 3],
    layers,
    inputRange: [0, 1],
    preprocess: (img) => (img.rank === 3 ? tf.expandDims(img, 0) : tf.clone(img)) as tf.Tensor4D,
    forward(x, taps = []) {
      const activations: Record<string, tf.Tensor> = {};
      let h = x;
      const take = (name: string) => {
        if (taps.includes(name)) activations[name] = h;
        return name === cut;
      };
      for (const b of net.blocks) {
        const input = h;
        for (const c of b.convs) {
          h = fusedInputOnlyConv2d(h, c.filter, {
            bias: c.bias,
            strides: c.stride,
            pad: c.pad,
            activation: c.relu6 ? 'relu6' : 'linear',
            depthwise: c.kind === 'depthwise',
          });
          if (take(c.out)) return { logits: tf.mean(h, [1, 2]) as tf.Tensor2D, activations };
        }
        if (b.residual) {
          h = tf.add(input, h);
          if (b.add !== undefined && take(b.add))
            return { logits: tf.mean(h, [1, 2]) as tf.Tensor2D, activations };
        }
      }
      const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
      const logits = tf.add(tf.matMul(pooled, net.denseKernel), net.denseBias) as tf.Tensor2D;
      if (taps.includes(spec.dense)) activations[spec.dense] = logits;
      return { logits, activations };
    },
  };
}
