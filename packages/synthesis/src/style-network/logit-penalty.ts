import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/**
 * mean(relu(|z| − limit)²) over all elements of `z`: zero while every logit stays within ±limit,
 * quadratic beyond. On the pre-sigmoid outputs of a style network it keeps the sigmoid out of
 * saturation, where its gradient (~e^−|z|) vanishes and the loss can no longer correct a colour.
 */
export function saturationPenalty(z: tf.Tensor, limit: number): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.square(tf.relu(tf.sub(tf.abs(z), limit)))) as tf.Scalar);
}

/**
 * A LayersModel from a style network's input to the input of its output sigmoid (the layer
 * named 'rgb', as `buildStyleNetwork` makes it), sharing the network's layers and weights, so
 * that training sees the logits z and computes the output as sigmoid(z) in the same forward
 * pass. Undefined if the network has no such layer (a user network), or uses it more than once.
 * Never dispose the returned model: that would dispose the shared layers' weights; it owns no
 * tensors of its own.
 */
export function styleNetworkLogits(net: tfl.LayersModel): tfl.LayersModel | undefined {
  const rgb = net.layers.find((l) => l.name === 'rgb');
  if (
    rgb === undefined ||
    rgb.getClassName() !== 'Activation' ||
    (rgb.getConfig() as { activation?: unknown }).activation !== 'sigmoid' ||
    !net.outputs.some((o) => o.sourceLayer === rgb)
  )
    return undefined;
  try {
    const z = rgb.input;
    if (Array.isArray(z)) return undefined;
    return tfl.model({ inputs: net.inputs, outputs: z, name: `${net.name}_logits` });
  } catch {
    // `input` throws when the layer has several inbound nodes: no single logit tensor.
    return undefined;
  }
}
