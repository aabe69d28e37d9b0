import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, type VisionModel } from '@cnnviz/core';
import { fromLayersModel } from '@cnnviz/models';

/** Grad-CAM layer of the tiny network. */
export const TINY_CAM_LAYER = 'expand_relu';

/**
 * A MobileNetV2-shaped network small enough to compile fast on a software GPU: stride-2 conv,
 * BatchNorm, ReLU6, depthwise conv, 1x1 projection, a residual add, global pooling, dense head.
 * Weights come from a seeded generator, so the browser and Node build the same model. It
 * exercises the kernels (depthwise gradients, ReLU6 masks, folded BatchNorm) that the zoo's
 * MobileNetV2 needs, at a size a test can afford.
 */
export function tinyMobileNet(): VisionModel {
  const bnRelu6 = (x: tfl.SymbolicTensor, name: string) =>
    tfl.layers
      .reLU({ maxValue: 6, name: `${name}_relu` })
      .apply(tfl.layers.batchNormalization({ name: `${name}_bn` }).apply(x)) as tfl.SymbolicTensor;
  const input = tfl.input({ shape: [24, 24, 3], name: 'input' });
  const stem = bnRelu6(
    tfl.layers
      .conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'stem' })
      .apply(input) as tfl.SymbolicTensor,
    'stem',
  );
  const dw = bnRelu6(
    tfl.layers
      .depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'dw' })
      .apply(stem) as tfl.SymbolicTensor,
    'dw',
  );
  const project = tfl.layers
    .batchNormalization({ name: 'project_bn' })
    .apply(
      tfl.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false, name: 'project' }).apply(dw),
    ) as tfl.SymbolicTensor;
  const added = tfl.layers.add({ name: 'add' }).apply([stem, project]) as tfl.SymbolicTensor;
  const expand = bnRelu6(
    tfl.layers
      .conv2d({ filters: 16, kernelSize: 1, useBias: false, name: 'expand' })
      .apply(added) as tfl.SymbolicTensor,
    'expand',
  );
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'pool' }).apply(expand);
  const logits = tfl.layers.dense({ units: 5, name: 'logits' }).apply(pooled) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: logits, name: 'tiny_mobilenet' });

  const rng = createRng(11);
  model.setWeights(
    model.weights.map((w) => {
      const shape = w.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      const variance = /moving_variance/.test(w.name);
      const gamma = /gamma/.test(w.name);
      const values = Float32Array.from({ length: n }, () => {
        const u = rng() * 2 - 1;
        return variance ? 0.5 + Math.abs(u) : gamma ? 1 + 0.3 * u : 0.6 * u;
      });
      return tf.tensor(values, shape);
    }),
  );
  return fromLayersModel(model, { inputRange: [0, 1] });
}
