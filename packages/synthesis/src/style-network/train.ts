import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  checkFinite,
  checkNumber,
  createRng,
  optimizationLoop,
  resize,
  type Step,
  type VisionModel,
} from '@cnnviz/core';
import {
  checkImageFitsLayers,
  checkLayers,
  checkModelImage,
  forwardPixels,
  zooLayers,
} from '../model-utils.js';
import { checkWeights, contentLoss, styleLoss, tvLoss } from '../losses/style.js';
import { gramTargets } from '../losses/targets.js';
import { colorStats, matchColors } from '../color-transfer.js';
import { applyStyleNetwork, type StyleNetwork } from './apply.js';
import { buildStyleNetwork, type StyleNetworkArchitecture } from './architecture.js';
import { asStyleNetwork } from './io.js';
import { saturationPenalty, styleNetworkLogits } from './logit-penalty.js';

export interface TrainStyleNetworkOptions extends StyleNetworkArchitecture {
  /** Training steps (one batch each). Default 1000. */
  steps?: number;
  /** Images per batch. Default 2. */
  batchSize?: number;
  /** Side of the square training crops. Default 128. */
  size?: number;
  /** Longest side the style image is resized to. Default 1.5 x size. */
  styleSize?: number;
  /** Loss network layers (defaults: the zoo model's content and style layers). */
  contentLayer?: string;
  styleLayers?: string[];
  styleLayerWeights?: number[];
  /** Loss weights (relative feature / Gram distances, as in transferStyle). Defaults 1, 10, 1. */
  contentWeight?: number;
  styleWeight?: number;
  tvWeight?: number;
  /**
   * Weight of mean(relu(|z| − logitLimit)²) over the pre-sigmoid outputs z (every pixel and
   * channel of the batch). Keeps the output sigmoid from saturating, where its gradient vanishes
   * and colours can no longer be corrected (a logit of −20 has a sigmoid gradient of 2e-9).
   * Default 1: exactly zero for a network whose logits stay within ±logitLimit, and for a
   * saturated pixel its gradient 2·(|z| − logitLimit)/count outweighs the loss's, which the
   * sigmoid has scaled by ~e^−|z|. 0 turns it off. Applies only to networks whose output is a
   * sigmoid layer named 'rgb' (`buildStyleNetwork`'s); other networks train without it.
   */
  logitPenalty?: number;
  /**
   * Weight of a low-level colour term: mean squared difference between the output and the input
   * crop, both average-pooled over `colorPool` x `colorPool` cells. Gram matrices cannot see
   * where colours sit, so without it a network may repaint warm regions in the style's dominant
   * colour (the dark-green blotches of an under-trained Starry Night network); pooling leaves the
   * brush strokes free. Default 0 (off).
   */
  colorWeight?: number;
  /** Cell size of the colour term's average pooling, in pixels. Default 8. */
  colorPool?: number;
  /**
   * What the colour term pulls towards: 'photo' (default), the input crop itself; or 'palette', the crop
   * recoloured to the style image's palette (`matchColors` to its RGB mean and covariance, what `transferStyle`
   * starts from), so the network takes the painting's colours but keeps each region's place in them: a red
   * nose stays the palette's warmest tone instead of turning into the style's dominant colour.
   */
  colorTarget?: 'photo' | 'palette';
  /** Logit magnitude the penalty allows: sigmoid(±4) = 0.018 / 0.982, gradient 0.018. Default 4. */
  logitLimit?: number;
  /** Adam learning rate. Default 1e-3 (Johnson et al.). */
  lr?: number;
  /** Seed of the initial weights' order of crops and flips. Default 0. */
  seed?: number;
  /** Continue training this network (e.g. one loaded from a checkpoint) instead of a new one; width and residualBlocks are then ignored. */
  network?: StyleNetwork;
  /** Stylise this image on the steps `imageEvery` asks for (progress previews; freed after onProgress returns). */
  preview?: tf.Tensor3D;
  imageEvery?: number;
  signal?: AbortSignal;
  onProgress?: (step: Step) => void;
}

/** Mean squared difference of `y` and `x` `[N,H,W,3]` average-pooled over `cell` x `cell` cells, per image `[N]`. */
export function colorLoss(y: tf.Tensor4D, x: tf.Tensor4D, cell: number): tf.Tensor1D {
  return tf.tidy(() => {
    const d = tf.sub(tf.avgPool(y, cell, cell, 'same'), tf.avgPool(x, cell, cell, 'same'));
    return tf.mean(tf.square(d), [1, 2, 3]) as tf.Tensor1D;
  });
}

/** A random square crop (scale 0.5..1 of the short side) of `img`, resized to `size`, flipped half the time. */
function randomCrop(img: tf.Tensor3D, size: number, rng: () => number): tf.Tensor3D {
  return tf.tidy(() => {
    const [h, w] = img.shape;
    const side = Math.max(1, Math.round(Math.min(h, w) * (0.5 + 0.5 * rng())));
    const top = Math.floor(rng() * (h - side + 1));
    const left = Math.floor(rng() * (w - side + 1));
    let crop = resize(tf.slice(img, [top, left, 0], [side, side, 3]) as tf.Tensor3D, [size, size]);
    if (rng() < 0.5) crop = tf.reverse(crop, 1);
    return crop;
  });
}

/**
 * Trains a feed-forward style network (Johnson et al. 2016) for one style with the perceptual
 * loss of `model` (a pretrained backbone such as MobileNetV2): content loss at `contentLayer`
 * against the input crop, Gram style loss at `styleLayers` against `style`, TV prior. Batches are
 * random crops and flips of `images`. A penalty on output logits beyond ±`logitLimit` keeps the
 * output sigmoid trainable (see `logitPenalty`). Resolves to the network (`applyStyleNetwork` uses it,
 * `saveStyleNetwork` stores it); `onProgress` reports every step, `signal` aborts.
 */
export async function trainStyleNetwork(
  model: VisionModel,
  style: tf.Tensor3D,
  images: tf.Tensor3D[],
  options: TrainStyleNetworkOptions = {},
): Promise<StyleNetwork> {
  checkModelImage(model, style, 'style');
  check(model.inputShape[2] === 3, 'BAD_OPTION', 'style networks work on RGB models (3 input channels)');
  check(
    Array.isArray(images) && images.length > 0,
    'BAD_OPTION',
    'images must be a non-empty array of training images [H,W,3]',
  );
  images.forEach((im, i) => checkModelImage(model, im, `images[${i}]`));
  const zoo = zooLayers(model);
  const contentLayer = options.contentLayer ?? zoo.content;
  const styleLayers = options.styleLayers ?? zoo.style;
  check(
    contentLayer !== undefined && Array.isArray(styleLayers),
    'BAD_OPTION',
    'contentLayer and styleLayers are required (this model has no defaults)',
  );
  checkLayers(model, [contentLayer], 'contentLayer');
  checkLayers(model, styleLayers, 'styleLayers');
  const layerWeights = checkWeights(styleLayers.length, options.styleLayerWeights, 'styleLayerWeights');
  const steps = options.steps ?? 1000;
  checkNumber(steps, 'steps', { min: 1, integer: true });
  const batchSize = options.batchSize ?? 2;
  checkNumber(batchSize, 'batchSize', { min: 1, integer: true });
  const size = options.size ?? 128;
  checkNumber(size, 'size', { min: 4, integer: true });
  check(
    size % 4 === 0,
    'BAD_OPTION',
    `size must be a multiple of 4 (the network downsamples twice), got ${size}`,
  );
  const styleSize = options.styleSize ?? Math.round(1.5 * size);
  checkNumber(styleSize, 'styleSize', { min: 1, integer: true });
  const contentWeight = options.contentWeight ?? 1;
  const styleWeight = options.styleWeight ?? 10;
  const tvWeight = options.tvWeight ?? 1;
  checkNumber(contentWeight, 'contentWeight', { min: 0 });
  checkNumber(styleWeight, 'styleWeight', { min: 0 });
  checkNumber(tvWeight, 'tvWeight', { min: 0 });
  const lr = options.lr ?? 1e-3;
  checkNumber(lr, 'lr', { min: 0, exclusiveMin: true });
  const logitPenalty = options.logitPenalty ?? 1;
  checkNumber(logitPenalty, 'logitPenalty', { min: 0 });
  const logitLimit = options.logitLimit ?? 4;
  checkNumber(logitLimit, 'logitLimit', { min: 0, exclusiveMin: true });
  const colorWeight = options.colorWeight ?? 0;
  checkNumber(colorWeight, 'colorWeight', { min: 0 });
  const colorPool = options.colorPool ?? 8;
  checkNumber(colorPool, 'colorPool', { min: 1, max: size, integer: true });
  const colorTarget = options.colorTarget ?? 'photo';
  check(
    colorTarget === 'photo' || colorTarget === 'palette',
    'BAD_OPTION',
    () => `colorTarget must be 'photo' or 'palette', got ${JSON.stringify(colorTarget)}`,
  );
  checkImageFitsLayers(model, size, size, [contentLayer, ...styleLayers], 'size');
  await checkFinite(style, 'style');

  const rng = createRng(options.seed ?? 0);
  const [sh, sw] = style.shape;
  const k = styleSize / Math.max(sh, sw);
  const styleTargets = tf.tidy(() =>
    gramTargets(
      model,
      resize(tf.cast(style, 'float32') as tf.Tensor3D, [
        Math.max(1, Math.round(sh * k)),
        Math.max(1, Math.round(sw * k)),
      ]),
      styleLayers,
    ),
  );
  const palette =
    colorWeight > 0 && colorTarget === 'palette'
      ? tf.tidy(() => colorStats(tf.expandDims(tf.cast(style, 'float32'), 0) as tf.Tensor4D))
      : undefined;
  const net = options.network?.model ?? buildStyleNetwork(options);
  // The logits come from a second model over the same layers (the saved network is unchanged);
  // the output is then sigmoid(z), so one forward pass serves the loss and the penalty.
  const logits = logitPenalty > 0 ? styleNetworkLogits(net) : undefined;
  const vars = net.trainableWeights.map((w) => w.read() as tf.Variable);
  const optimizer = tf.train.adam(lr);
  const taps = [contentLayer, ...styleLayers];
  const preview = options.preview;
  let ok = false;
  try {
    const loop = optimizationLoop(
      {
        steps,
        signal: options.signal,
        onProgress: options.onProgress,
        imageEvery: preview ? options.imageEvery : undefined,
      },
      () => {
        const batch = tf.stack(
          Array.from({ length: batchSize }, () =>
            randomCrop(images[Math.floor(rng() * images.length)], size, rng),
          ),
        ) as tf.Tensor4D;
        const contentTarget = forwardPixels(model, batch, [contentLayer], { logits: false }).activations[
          contentLayer
        ];
        const colorTargetImage = palette ? tf.clipByValue(matchColors(batch, palette), 0, 1) : batch;
        const loss = optimizer.minimize(
          () => {
            let y: tf.Tensor4D;
            let penalty: tf.Scalar | undefined;
            if (logits) {
              const z = logits.apply(batch, { training: true }) as tf.Tensor4D;
              y = tf.sigmoid(z);
              penalty = tf.mul(saturationPenalty(z, logitLimit), logitPenalty) as tf.Scalar;
            } else {
              y = net.apply(batch, { training: true }) as tf.Tensor4D;
            }
            const out = forwardPixels(model, y, taps, { logits: false });
            const c = tf.mul(contentLoss(out.activations[contentLayer], contentTarget), contentWeight);
            const s = tf.mul(
              styleLoss(
                styleLayers.map((l) => out.activations[l]),
                styleTargets,
                layerWeights,
              ),
              styleWeight,
            );
            const terms = [c, s, tf.mul(tvLoss(y), tvWeight)];
            if (colorWeight > 0) terms.push(tf.mul(colorLoss(y, colorTargetImage, colorPool), colorWeight));
            return tf.add(tf.mean(tf.addN(terms)), penalty ?? 0) as tf.Scalar;
          },
          true,
          vars,
        ) as tf.Scalar;
        return { loss, image: preview ? () => applyStyleNetwork(net, preview) : undefined };
      },
    );
    for await (const s of loop) s.image?.dispose();
    ok = true;
    return options.network ?? asStyleNetwork(net);
  } finally {
    tf.dispose(styleTargets);
    if (palette) tf.dispose([palette.mean, palette.cov]);
    optimizer.dispose();
    if (!ok && !options.network) net.dispose();
  }
}
