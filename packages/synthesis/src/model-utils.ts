import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  checkImage,
  checkLayer,
  resize,
  type ForwardOptions,
  type ForwardResult,
  objectiveForwardOptions,
  type LayerInfo,
  type Objective,
  type TapsResult,
  type VisionModel,
} from '@cnnviz/core';

/** Names of a model's layers, for UNKNOWN_LAYER checks. */
export function layerNames(model: VisionModel): string[] {
  return model.layers.map((l) => l.name);
}

/** Throws UNKNOWN_LAYER (with close names) unless every name is a layer of the model. */
export function checkLayers(
  model: VisionModel,
  layers: unknown[],
  what = 'layer',
): asserts layers is string[] {
  const names = layerNames(model);
  check(layers.length > 0, 'BAD_OPTION', `${what} must name at least one layer of the model`);
  for (const l of layers) checkLayer(l, names);
}

/** The model's fixed input size `[h, w]`, or undefined for a fully convolutional model. */
export function fixedInputSize(model: VisionModel): [number, number] | undefined {
  const [h, w] = model.inputShape;
  return h !== null && w !== null ? [h, w] : undefined;
}

/** Channels the model takes (3 for colour, 1 for grayscale). */
export function inputChannels(model: VisionModel): number {
  return model.inputShape[2];
}

/**
 * The smallest square input for which `layer` still has a feature map: at least as large as
 * the layer's cumulative stride (so one output cell sees one full stride of real pixels, not
 * only padding) and large enough for every 'valid' convolution or pooling on the way. Computed
 * from the layers' geometry along the longest path; layers without `kernel` pass size through.
 */
export function minInputSize(model: VisionModel, layer: string): number {
  const info = new Map<string, LayerInfo>(model.layers.map((l) => [l.name, l]));
  // For a candidate input size s, the feature map size at `layer` (or -1 if it vanishes).
  const memo = new Map<string, { size: number; stride: number }>();
  const sizeAt = (name: string, s: number, depth = 0): { size: number; stride: number } => {
    const hit = memo.get(name);
    if (hit) return hit;
    const l = info.get(name);
    const index = model.layers.findIndex((x) => x.name === name);
    let inputs = l?.inputs?.filter((n) => info.has(n));
    if (!inputs || inputs.length === 0) inputs = index > 0 ? [model.layers[index - 1].name] : [];
    let size = s;
    let stride = 1;
    if (depth < 10000) {
      for (const i of inputs) {
        const r = sizeAt(i, s, depth + 1);
        // Merges (add, concat) need every branch; the smallest map and the largest stride decide.
        size = Math.min(size, r.size);
        stride = Math.max(stride, r.stride);
      }
    }
    const k = l?.kernel;
    if (k && size > 0) {
      const kEff = (k.size[0] - 1) * (k.dilation?.[0] ?? 1) + 1;
      size =
        k.padding === 'valid' ? Math.floor((size - kEff) / k.strides[0]) + 1 : Math.ceil(size / k.strides[0]);
      stride *= k.strides[0];
    }
    const r = { size, stride };
    memo.set(name, r);
    return r;
  };
  const fits = (s: number) => {
    memo.clear();
    const r = sizeAt(layer, s);
    return r.size >= 1 && s >= r.stride;
  };
  let s = 1;
  while (!fits(s) && s < 4096) s++;
  return s;
}

/**
 * Throws BAD_IMAGE when an image of `h` x `w` is too small for the deepest of `layers` (see
 * `minInputSize`); with a fixed-size model images are resized, so nothing is checked.
 */
export function checkImageFitsLayers(
  model: VisionModel,
  h: number,
  w: number,
  layers: string[],
  name = 'image',
): void {
  if (fixedInputSize(model)) return;
  for (const l of layers) {
    const min = minInputSize(model, l);
    check(
      Math.min(h, w) >= min,
      'BAD_IMAGE',
      () =>
        `${name} is ${h}x${w}, smaller than the ${min}x${min} the receptive field of layer "${l}" needs; use a larger image or a shallower layer`,
    );
  }
}

/**
 * Forward pass from pixels (0..1, `[N,H,W,C]`): resizes to a fixed-size model's input (the
 * resize is differentiable, so gradients reach the original pixels), preprocesses, runs.
 * With `{ logits: false }` (for callers that read only activations) the model may stop at the
 * deepest tap and leave `logits` out.
 */
export function forwardPixels(model: VisionModel, pixels: tf.Tensor4D, taps?: string[]): ForwardResult;
export function forwardPixels(
  model: VisionModel,
  pixels: tf.Tensor4D,
  taps: string[] | undefined,
  options: ForwardOptions,
): TapsResult;
export function forwardPixels(
  model: VisionModel,
  pixels: tf.Tensor4D,
  taps: string[] = [],
  options?: ForwardOptions,
): TapsResult {
  const fixed = fixedInputSize(model);
  const x =
    fixed && (pixels.shape[1] !== fixed[0] || pixels.shape[2] !== fixed[1]) ? resize(pixels, fixed) : pixels;
  // Without options, the two-argument call every VisionModel has always supported.
  return options === undefined
    ? model.forward(model.preprocess(x), taps)
    : model.forward(model.preprocess(x), taps, options);
}

/**
 * `objective.evaluate` on a forward pass from pixels (see `forwardPixels`) that stops at the
 * deepest of `taps` when the objective reads no logits (`needsLogits: false`), and lets the model
 * skip the channels the objective does not read (`objective.channels`) except on the taps in
 * `whole`, which the caller reads itself. Returns the values
 * `[N]` and the forward result, whose activations hold `taps` (default `objective.taps`).
 */
export function evaluateObjective(
  model: VisionModel,
  pixels: tf.Tensor4D,
  objective: Objective,
  taps: string[] = objective.taps,
  whole: string[] = [],
): { values: tf.Tensor1D; out: TapsResult } {
  const out = forwardPixels(model, pixels, taps, objectiveForwardOptions(objective, taps, whole));
  // Safe: logits are left out only when the objective said evaluate reads activations alone;
  // with logits asked for, every model returns them.
  return { values: objective.evaluate(out as ForwardResult), out };
}

/** Number of classes the model scores (its labels, else one forward pass on a blank image). */
export function numClasses(model: VisionModel): number {
  if (model.labels && model.labels.length > 0) return model.labels.length;
  const [h, w, c] = model.inputShape;
  return tf.tidy(
    () => forwardPixels(model, tf.fill([1, h ?? 64, w ?? 64, c], 0.5) as tf.Tensor4D).logits.shape[1],
  );
}

/** Checks a pixel image `[H,W,C]` for the model's channel count. */
export function checkModelImage(
  model: VisionModel,
  image: unknown,
  name = 'image',
): asserts image is tf.Tensor3D {
  checkImage(image, { batch: false, channels: inputChannels(model), name });
}

/**
 * Layers of interest a zoo model publishes (`@cnnviz/models` zoo models carry them as
 * `entry.layersOfInterest`; a model may also carry `layersOfInterest` itself), if any.
 */
export function zooLayers(model: VisionModel): {
  dream?: string[];
  style?: string[];
  content?: string;
  gradcam?: string;
} {
  type WithLayers = { layersOfInterest?: Record<string, unknown> };
  const m = model as unknown as WithLayers & { entry?: WithLayers };
  const l = m.layersOfInterest ?? m.entry?.layersOfInterest ?? {};
  const one = (v: unknown) =>
    typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined;
  const list = (v: unknown) =>
    typeof v === 'string'
      ? [v]
      : Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')
        ? (v as string[])
        : undefined;
  return { dream: list(l.dream), content: one(l.content), gradcam: one(l.gradcam), style: list(l.style) };
}

/** An output size option: a number (square) or `[h, w]` of positive integers; `fallback` when absent. */
export function resolveOutputSize(size: unknown, fallback: [number, number]): [number, number] {
  const s = size ?? fallback;
  const hw = typeof s === 'number' ? [s, s] : s;
  check(
    Array.isArray(hw) && hw.length === 2 && hw.every((d) => Number.isInteger(d) && d >= 1),
    'BAD_OPTION',
    () => `size must be a positive integer or [height, width], got ${JSON.stringify(size)}`,
  );
  return hw as [number, number];
}
