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

/** Options of `VisionModel.forward`. */
export interface ForwardOptions {
  /**
   * false: run only the layers the taps need and leave `logits` out (a style, texture or
   * channel objective that reads early activations then skips the rest of the network).
   * Default true. A model that ignores the option returns logits anyway.
   */
  logits?: boolean;
  /**
   * The channels (last-axis indices) of each tap that the caller reads, by tap name; a tap not
   * listed is read whole. A model may then skip work that only the other channels need (the
   * branches of a Concatenate that feed none of them, a convolution's other output channels) and
   * return those taps with the other channels zero or otherwise meaningless. Pass only what the
   * caller really reads (a channel or neuron objective's channel); a model that ignores the option
   * returns every channel.
   */
  channels?: Record<string, readonly number[]>;
}

/** What `forward` returns when called with options: `logits` only where they were computed. */
export interface TapsResult {
  /** Present unless `{ logits: false }` was passed to a model that honours it. */
  logits?: tf.Tensor2D;
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
  /**
   * With options: `{ logits: false }` runs only as far as the deepest tap needs and may leave
   * `logits` out. An implementation with only the two-argument form satisfies this too (it
   * ignores the option and returns logits anyway).
   */
  forward(x: tf.Tensor4D, taps: string[] | undefined, options: ForwardOptions): TapsResult;
  /** Trainable weights by layer name, for weight randomisation and filter views. */
  getWeights?(layer: string): tf.Tensor[];
  setWeights?(layer: string, weights: tf.Tensor[]): void;
  dispose?(): void;
}
