import * as tf from '@tensorflow/tfjs-core';
import { fusedInputOnlyConv2d } from '@cnnviz/core';
import type { FoldedMobileNetV2 } from './mobilenet-v2.js';

/**
 * MobileNetV2 forward the way cnnviz runs a model for input gradients: BN folded into the convs, each
 * conv + bias + ReLU6 one fused kernel whose gradient is input-only. Returns logits [N, classes] and, when
 * `taps` names block indices, those blocks' outputs.
 */
export function fastForward(
  net: FoldedMobileNetV2,
  x: tf.Tensor4D,
  taps: number[] = [],
): { logits: tf.Tensor2D; activations: Record<number, tf.Tensor4D> } {
  const activations: Record<number, tf.Tensor4D> = {};
  let h = x;
  net.blocks.forEach((b, i) => {
    const input = h;
    for (const c of b.convs) {
      h = fusedInputOnlyConv2d(h, c.filter, {
        bias: c.bias,
        strides: c.stride,
        pad: c.pad,
        activation: c.relu6 ? 'relu6' : 'linear',
        depthwise: c.kind === 'depthwise',
      });
    }
    if (b.residual) h = tf.add(input, h);
    if (taps.includes(i)) activations[i] = h;
  });
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
  const logits = tf.add(tf.matMul(pooled, net.denseKernel), net.denseBias) as tf.Tensor2D;
  return { logits, activations };
}
