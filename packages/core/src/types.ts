import type * as tf from '@tensorflow/tfjs-core';

/** How a model wants its input scaled; `preprocess` maps 0..1 pixels to this. */
export type InputRange = [number, number] | { mean: number[]; std: number[] };

/** One layer (or graph node) of a VisionModel, in forward order. */
export interface LayerInfo {
  name: string;
  /** Layer class (`Conv2D`, `DepthwiseConv2D`, `Dense`, `ReLU`, `MaxPooling2D`, ...) or graph op. */
  kind: string;
  /** Output shape without the batch dimension, `null` where a size depends on the input. */
  outputShape: (number | null)[];
  /** Convolution/pooling geometry, used for receptive fields. Absent for other layers. */
  kernel?: {
    size: [number, number];
    strides: [number, number];
    padding: 'same' | 'valid';
    dilation?: [number, number];
  };
  /** Names of the layers feeding this one. */
  inputs?: string[];
}

export interface ForwardResult {
  /** Pre-softmax scores `[N, classes]`; for feature extractors, the last layer flattened. */
  logits: tf.Tensor2D;
  /** The requested taps, by layer name. */
  activations: Record<string, tf.Tensor>;
}

/**
 * The one interface every technique works on (DESIGN.md). `forward` is differentiable with
 * respect to its input, taps included, so gradients of any objective reach the pixels.
 */
export interface VisionModel {
  /** `[h, w, c]`; `h`/`w` may be `null` for a fully convolutional model that takes any size. */
  inputShape: [number | null, number | null, number];
  layers: LayerInfo[];
  labels?: string[];
  inputRange?: InputRange;
  /** Maps pixel images (0..1, `[H,W,C]` or `[N,H,W,C]`) to model input `[N,H,W,C]`. */
  preprocess(img: tf.Tensor3D | tf.Tensor4D): tf.Tensor4D;
  /** Runs the model on preprocessed input; returns logits and the tapped activations. */
  forward(x: tf.Tensor4D, taps?: string[]): ForwardResult;
  /** Trainable weights by layer name, for weight randomisation and filter views. */
  getWeights?(layer: string): tf.Tensor[];
  setWeights?(layer: string, weights: tf.Tensor[]): void;
  dispose?(): void;
}
