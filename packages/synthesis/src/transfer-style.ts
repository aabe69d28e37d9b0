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
} from './model-utils.js';
import { colorStats, matchColors as matchColorStats, mixColorStats } from './color-transfer.js';
import { checkWeights, contentLoss, styleLoss, tvLoss } from './losses/style.js';
import { fourierParam } from './param/fourier.js';
import { pixelParam, type PixelParam } from './param/pixel.js';
import type { ImageParam, ParamKind } from './param/types.js';
import { gramTargets } from './losses/targets.js';

/** One style and its share of the blend. */
export interface StyleImage {
  image: tf.Tensor3D;
  /** Non-negative; the weights of all styles must sum to a positive number (they are normalised). */
  weight: number;
}

export interface TransferStyleOptions {
  /** Layer whose features keep the content. Default: the zoo model's content layer. */
  contentLayer?: string;
  /** Layers whose Gram matrices carry the style. Default: the zoo model's style layers. */
  styleLayers?: string[];
  /** Weights of the style layers. Default equal. */
  styleLayerWeights?: number[];
  /** Weight of the content loss (relative feature distance). Default 1. */
  contentWeight?: number;
  /** Weight of the style loss (relative Gram distance). Default 100. */
  styleWeight?: number;
  /** Weight of the total-variation prior (mean squared neighbour difference). Default 10. */
  tvWeight?: number;
  /** Adam steps. Default 200. */
  steps?: number;
  /**
   * Image parameterisation: 'fourier' (default; Lucid's decorrelated 1/f spectrum, which keeps
   * MobileNetV2's stride-2 gradients from painting high-frequency colour noise) or 'pixel'.
   */
  param?: ParamKind;
  /** Adam learning rate. Default 0.05 for 'fourier', 0.02 (pixel units) for 'pixel'. */
  lr?: number;
  /** Start from the content image (default) or from noise. */
  init?: 'content' | 'noise';
  /** Keep the content's colours: the result's luminance with the content's chrominance (YIQ; Gatys et al. 2016). Default false. */
  preserveColor?: boolean;
  /**
   * Take the colours from the styles: start from the content recoloured to the styles' palette
   * (linear colour transfer to the blended styles' RGB mean and covariance, `matchColors`) and
   * give the results that palette too. MobileNetV2's and InceptionV3's Gram matrices barely see
   * colour, so without it the astronaut's orange suit stays orange under Starry Night. The last
   * tenth of the steps optimise the recoloured picture. Default true unless `preserveColor`.
   */
  matchColors?: boolean;
  /** Output size: a number is the longest side (aspect kept), `[h, w]` exact. Default the content's size. */
  size?: number | [number, number];
  /** Longest side the style images are resized to (sets the scale of brush strokes). Default the output's longest side. */
  styleSize?: number;
  /** Seed of the noise start. Default 0. */
  seed?: number;
  imageEvery?: number;
  signal?: AbortSignal;
  onProgress?: (step: Step) => void;
}

const RGB_TO_YIQ = [
  [0.299, 0.596, 0.211],
  [0.587, -0.274, -0.523],
  [0.114, -0.322, 0.312],
];
const YIQ_TO_RGB = [
  [1, 1, 1],
  [0.956, -0.272, -1.106],
  [0.621, -0.647, 1.703],
];

/** `img` [N,H,W,3] through a 3x3 colour matrix (`pixel @ m`). */
function colorMatrix(img: tf.Tensor4D, m: number[][]): tf.Tensor4D {
  return tf.tidy(() =>
    tf.reshape(tf.matMul(tf.reshape(img, [-1, 3]), tf.tensor2d(m)), img.shape),
  ) as tf.Tensor4D;
}

/** The luminance of `result` with the chrominance of `content` (both [N,H,W,3]). */
function keepColors(result: tf.Tensor4D, content: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const y = tf.slice(colorMatrix(result, RGB_TO_YIQ), [0, 0, 0, 0], [-1, -1, -1, 1]);
    const iq = tf.slice(colorMatrix(content, RGB_TO_YIQ), [0, 0, 0, 1], [-1, -1, -1, 2]);
    return tf.clipByValue(colorMatrix(tf.concat([y, iq], 3) as tf.Tensor4D, YIQ_TO_RGB), 0, 1);
  }) as tf.Tensor4D;
}

function longestSide(h: number, w: number, side: number): [number, number] {
  const k = side / Math.max(h, w);
  return [Math.max(1, Math.round(h * k)), Math.max(1, Math.round(w * k))];
}

/**
 * Neural style transfer (Gatys et al. 2016): optimise an image so its features at
 * `contentLayer` match the content image and its Gram matrices at `styleLayers` match the
 * styles', with a TV prior. Several styles blend by weight (their Gram matrices are averaged
 * with the normalised weights). An async iterator of steps; `loss` is the weighted total; the
 * last image is the stylised picture.
 */
export async function* transferStyle(
  model: VisionModel,
  content: tf.Tensor3D,
  styles: StyleImage[],
  options: TransferStyleOptions = {},
): AsyncGenerator<Step, void, undefined> {
  checkModelImage(model, content, 'content');
  check(
    Array.isArray(styles) && styles.length > 0,
    'BAD_OPTION',
    'styles must be a non-empty array of { image, weight }',
  );
  styles.forEach((s, i) => {
    check(s !== null && typeof s === 'object', 'BAD_OPTION', `styles[${i}] must be { image, weight }`);
    checkModelImage(model, s.image, `styles[${i}].image`);
  });
  const styleWeights = checkWeights(
    styles.length,
    styles.map((s) => s.weight),
    'style weights',
  );
  check(options !== null && typeof options === 'object', 'BAD_OPTION', 'options must be an object');
  const zoo = zooLayers(model);
  const contentLayer = options.contentLayer ?? zoo.content;
  check(
    contentLayer !== undefined,
    'BAD_OPTION',
    'contentLayer is required (this model has no default content layer)',
  );
  const styleLayers = options.styleLayers ?? zoo.style;
  check(
    Array.isArray(styleLayers),
    'BAD_OPTION',
    'styleLayers is required (this model has no default style layers)',
  );
  checkLayers(model, [contentLayer], 'contentLayer');
  checkLayers(model, styleLayers, 'styleLayers');
  const layerWeights = checkWeights(styleLayers.length, options.styleLayerWeights, 'styleLayerWeights');
  const contentWeight = options.contentWeight ?? 1;
  checkNumber(contentWeight, 'contentWeight', { min: 0 });
  const styleWeight = options.styleWeight ?? 100;
  checkNumber(styleWeight, 'styleWeight', { min: 0 });
  const tvWeight = options.tvWeight ?? 10;
  checkNumber(tvWeight, 'tvWeight', { min: 0 });
  const steps = options.steps ?? 200;
  checkNumber(steps, 'steps', { min: 1, integer: true });
  const param = options.param ?? 'fourier';
  check(
    param === 'pixel' || param === 'fourier',
    'BAD_OPTION',
    `param must be 'pixel' or 'fourier', got ${String(param)}`,
  );
  const lr = options.lr ?? (param === 'fourier' ? 0.05 : 0.02);
  checkNumber(lr, 'lr', { min: 0, exclusiveMin: true });
  const init0 = options.init ?? 'content';
  check(
    init0 === 'content' || init0 === 'noise',
    'BAD_OPTION',
    `init must be 'content' or 'noise', got ${String(init0)}`,
  );
  const [ch, cw] = content.shape;
  let size: [number, number];
  if (options.size === undefined) size = [ch, cw];
  else if (typeof options.size === 'number') {
    checkNumber(options.size, 'size', { min: 1, integer: true });
    size = longestSide(ch, cw, options.size);
  } else {
    check(
      Array.isArray(options.size) &&
        options.size.length === 2 &&
        options.size.every((d) => Number.isInteger(d) && d >= 1),
      'BAD_OPTION',
      () => `size must be a positive integer or [height, width], got ${JSON.stringify(options.size)}`,
    );
    size = options.size;
  }
  const styleSize = options.styleSize ?? Math.max(...size);
  checkNumber(styleSize, 'styleSize', { min: 1, integer: true });
  const allLayers = [contentLayer, ...styleLayers];
  checkImageFitsLayers(model, size[0], size[1], allLayers, 'content');
  const styleSizes = styles.map((s) => longestSide(s.image.shape[0], s.image.shape[1], styleSize));
  styleSizes.forEach(([h, w], i) =>
    checkImageFitsLayers(model, h, w, styleLayers, `styles[${i}].image (resized to ${h}x${w})`),
  );
  await checkFinite(content, 'content');
  for (const [i, s] of styles.entries()) await checkFinite(s.image, `styles[${i}].image`);

  const colorMatch = options.preserveColor === true && content.shape[2] === 3;
  check(
    options.matchColors === undefined || typeof options.matchColors === 'boolean',
    'BAD_OPTION',
    `matchColors must be true or false, got ${String(options.matchColors)}`,
  );
  const styleColors = (options.matchColors ?? !colorMatch) && content.shape[2] === 3;
  const total = styleWeights.reduce((a, b) => a + b, 0);
  const contentPixels = tf.tidy(() =>
    resize(tf.expandDims(tf.cast(content, 'float32'), 0) as tf.Tensor4D, size),
  );
  const contentTarget = tf.tidy(
    () => forwardPixels(model, contentPixels, [contentLayer], { logits: false }).activations[contentLayer],
  );
  const styleTargets = tf.tidy(() => {
    const perStyle = styles.map((s, i) => {
      const img = resize(tf.cast(s.image, 'float32') as tf.Tensor3D, styleSizes[i]);
      return gramTargets(model, img, styleLayers);
    });
    return styleLayers.map(
      (_, l) => tf.addN(perStyle.map((g, i) => tf.mul(g[l], styleWeights[i] / total))) as tf.Tensor2D,
    );
  });
  const palette = styleColors
    ? tf.tidy(() => {
        const stats = styles.map((s) =>
          colorStats(tf.expandDims(tf.cast(s.image, 'float32'), 0) as tf.Tensor4D),
        );
        return mixColorStats(stats, styleWeights);
      })
    : undefined;
  const shape: [number, number, number, number] = [1, size[0], size[1], content.shape[2]];
  const rng = createRng(options.seed ?? 0);
  // The start image stays inside 2..98 %: the Fourier parameterisation ends in a sigmoid, and a
  // pure black or white pixel would start where its gradient has all but vanished.
  const init =
    init0 === 'content'
      ? tf.tidy(() => {
          const start = palette
            ? tf.clipByValue(matchColorStats(contentPixels, palette), 0, 1)
            : contentPixels;
          return (param === 'fourier' ? tf.add(tf.mul(start, 0.96), 0.02) : tf.clone(start)) as tf.Tensor4D;
        })
      : undefined;
  const p: ImageParam =
    param === 'fourier' ? fourierParam(shape, rng, { init }) : pixelParam(shape, rng, { init, sd: 0.1 });
  init?.dispose();
  const optimizer = tf.train.adam(lr);
  try {
    yield* optimizationLoop(
      { steps, signal: options.signal, onProgress: options.onProgress, imageEvery: options.imageEvery },
      (i) => {
        // As in synthesizeTexture: the last tenth of the steps optimise the recoloured picture.
        const matching = palette !== undefined && i >= Math.floor(0.9 * steps);
        const loss = optimizer.minimize(
          () => {
            const raw = p.image();
            const img = matching ? (tf.clipByValue(matchColorStats(raw, palette), 0, 1) as tf.Tensor4D) : raw;
            const out = forwardPixels(model, img, allLayers, { logits: false });
            const c = tf.mul(contentLoss(out.activations[contentLayer], contentTarget), contentWeight);
            const s = tf.mul(
              styleLoss(
                styleLayers.map((l) => out.activations[l]),
                styleTargets,
                layerWeights,
              ),
              styleWeight,
            );
            return tf.sum(tf.addN([c, s, tf.mul(tvLoss(img), tvWeight)])) as tf.Scalar;
          },
          true,
          p.variables,
        ) as tf.Scalar;
        if (param === 'pixel') (p as PixelParam).clip();
        return {
          loss,
          image: () =>
            tf.tidy(() => {
              let img = p.image();
              if (palette) img = matchColorStats(img, palette);
              img = tf.clipByValue(img, 0, 1);
              return tf.squeeze(colorMatch ? keepColors(img, contentPixels) : img, [0]) as tf.Tensor3D;
            }),
        };
      },
    );
  } finally {
    tf.dispose([contentPixels, contentTarget, ...styleTargets]);
    if (palette) tf.dispose([palette.mean, palette.cov]);
    p.dispose();
    optimizer.dispose();
  }
}
