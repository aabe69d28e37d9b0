import * as tf from '@tensorflow/tfjs-core';
import {
  check,
  checkFinite,
  checkImage,
  checkNumber,
  checkTarget,
  createRng,
  optimizationLoop,
  randomUniform,
  type Step,
  type VisionModel,
} from '@cnnviz/core';
import { forwardPixels, inputChannels, numClasses } from './model-utils.js';

/** A top-1 prediction: class index, its label if the model has labels, softmax probability. */
export interface Prediction {
  label: number;
  name?: string;
  prob: number;
}

export interface AdversarialOptions {
  /** 'fgsm': one signed-gradient step of size epsilon; 'pgd': projected gradient descent (Madry et al.). */
  method: 'fgsm' | 'pgd';
  /** L∞ budget in pixel units (images are 0..1), >= 0. */
  epsilon: number;
  /** Targeted attack: the class (one per image for a batch) to push the image towards. */
  target?: number | number[];
  /** Untargeted attack: the class to move away from; default the model's prediction on the clean image. */
  trueLabel?: number | number[];
  /** PGD iterations. Default 10. */
  steps?: number;
  /** PGD step size. Default 2.5 * epsilon / steps (Madry et al.). */
  stepSize?: number;
  /** PGD starts from a uniform random point of the ε-ball. Default true. */
  randomStart?: boolean;
  /** PGD runs this many times from fresh random starts; each image keeps its best result. Default 1. */
  restarts?: number;
  /**
   * What PGD follows: 'crossEntropy' (default; DESIGN.md's definition) or 'margin', Carlini &
   * Wagner's logit margin (best other logit minus the target's, or the true logit minus the best
   * other), which keeps pushing where the softmax has saturated. FGSM always uses cross-entropy.
   */
  loss?: 'crossEntropy' | 'margin';
  /** Seed of the random start. Default 0. */
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (step: Step) => void;
}

export interface AdversarialResult<T extends tf.Tensor3D | tf.Tensor4D, P extends Prediction | Prediction[]> {
  /** The adversarial image (same shape as the input), 0..1. */
  image: T;
  /** The change, amplified for display: 0.5 + (adversarial - original) / (2 ε), so ±ε maps to 0..1. */
  perturbation: T;
  /** Top-1 prediction on the original image(s). */
  before: P;
  /** Top-1 prediction on the adversarial image(s). */
  after: P;
  dispose(): void;
}

function labelsFor(
  value: number | number[] | undefined,
  n: number,
  classes: number,
  name: string,
): number[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : Array.from({ length: n }, () => value);
  check(list.length === n, 'BAD_TARGET', `${name} must have one class per image (${n}), got ${list.length}`);
  list.forEach((k, i) => checkTarget(k, classes, Array.isArray(value) ? `${name}[${i}]` : name));
  return list;
}

async function predict(model: VisionModel, x: tf.Tensor4D): Promise<Prediction[]> {
  const probs = tf.tidy(() => tf.softmax(forwardPixels(model, x).logits));
  const rows = (await probs.array()) as number[][];
  probs.dispose();
  return rows.map((p) => {
    const label = p.indexOf(Math.max(...p));
    const pred: Prediction = { label, prob: p[label] };
    if (model.labels?.[label] !== undefined) pred.name = model.labels[label];
    return pred;
  });
}

/** Softmax cross-entropy of each item's logits against its label, `[N]`. */
function crossEntropyItems(
  model: VisionModel,
  x: tf.Tensor4D,
  labels: number[],
  classes: number,
): tf.Tensor1D {
  const logits = forwardPixels(model, x).logits;
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
  return tf.sum(tf.mul(onehot, tf.neg(tf.logSoftmax(logits))), 1) as tf.Tensor1D;
}

/**
 * Per item: the best other logit minus the label's logit (Carlini & Wagner's margin, without
 * the confidence clamp). Like cross-entropy it is low when the label wins, so the same signs apply.
 */
function marginItems(model: VisionModel, x: tf.Tensor4D, labels: number[], classes: number): tf.Tensor1D {
  const logits = forwardPixels(model, x).logits;
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
  const own = tf.sum(tf.mul(onehot, logits), 1);
  const others = tf.max(tf.sub(logits, tf.mul(onehot, 1e9)), 1);
  return tf.sub(others, own) as tf.Tensor1D;
}

/** Sum over the batch of the cross-entropies (items do not interact, so its gradient is per item). */
function crossEntropy(model: VisionModel, x: tf.Tensor4D, labels: number[], classes: number): tf.Scalar {
  return tf.sum(crossEntropyItems(model, x, labels, classes));
}

/**
 * Adversarial examples (Goodfellow et al. 2015 FGSM; Madry et al. 2018 PGD). Untargeted:
 * `x + ε sign(∇ CE(true))`; targeted: `x − ε sign(∇ CE(target))`; always clipped to 0..1. PGD
 * repeats signed steps of `stepSize` and projects back onto the L∞ ball of radius ε around the
 * original and onto 0..1 after each, and returns each image's best iterate over all steps and
 * `restarts`. Takes one image `[H,W,C]` or a batch `[N,H,W,C]` (then
 * `before`/`after` are arrays and labels may be given per image).
 */
export async function adversarial(
  model: VisionModel,
  image: tf.Tensor3D,
  options: AdversarialOptions,
): Promise<AdversarialResult<tf.Tensor3D, Prediction>>;
export async function adversarial(
  model: VisionModel,
  image: tf.Tensor4D,
  options: AdversarialOptions,
): Promise<AdversarialResult<tf.Tensor4D, Prediction[]>>;
export async function adversarial(
  model: VisionModel,
  image: tf.Tensor3D | tf.Tensor4D,
  options: AdversarialOptions,
): Promise<AdversarialResult<tf.Tensor3D | tf.Tensor4D, Prediction | Prediction[]>> {
  checkImage(image, { channels: inputChannels(model) });
  check(
    options !== null && typeof options === 'object',
    'BAD_OPTION',
    'options must be an object { method, epsilon, ... }',
  );
  const { method, epsilon } = options;
  check(
    method === 'fgsm' || method === 'pgd',
    'BAD_OPTION',
    `method must be 'fgsm' or 'pgd', got ${String(method)}`,
  );
  checkNumber(epsilon, 'epsilon', { min: 0, max: 1 });
  const steps = method === 'fgsm' ? 1 : (options.steps ?? 10);
  checkNumber(steps, 'steps', { min: 1, integer: true });
  const stepSize = options.stepSize ?? (2.5 * epsilon) / steps;
  const restarts = method === 'fgsm' ? 1 : (options.restarts ?? 1);
  checkNumber(restarts, 'restarts', { min: 1, integer: true });
  checkNumber(stepSize, 'stepSize', { min: 0 });
  check(
    options.target === undefined || options.trueLabel === undefined,
    'BAD_OPTION',
    'give either target (targeted attack) or trueLabel (untargeted attack), not both',
  );
  const lossKind = options.loss ?? 'crossEntropy';
  check(
    lossKind === 'crossEntropy' || lossKind === 'margin',
    'BAD_OPTION',
    `loss must be 'crossEntropy' or 'margin', got ${String(lossKind)}`,
  );
  const lossItems = lossKind === 'margin' ? marginItems : crossEntropyItems;
  await checkFinite(image);

  const single = image.rank === 3;
  const x0 = tf.tidy(() => tf.cast(single ? tf.expandDims(image, 0) : image, 'float32')) as tf.Tensor4D;
  const n = x0.shape[0];
  let x: tf.Tensor4D | undefined;
  try {
    const classes = numClasses(model);
    const target = labelsFor(options.target, n, classes, 'target');
    const before = await predict(model, x0);
    const labels =
      target ?? labelsFor(options.trueLabel, n, classes, 'trueLabel') ?? before.map((p) => p.label);
    // Targeted: descend on CE(target); untargeted: ascend on CE(true label).
    const direction = target ? -1 : 1;
    const lo = tf.tidy(() => tf.maximum(tf.sub(x0, epsilon), 0));
    const hi = tf.tidy(() => tf.minimum(tf.add(x0, epsilon), 1));
    try {
      if (method === 'fgsm') {
        x = tf.tidy(() => {
          const grad = tf.grad((xi: tf.Tensor) => crossEntropy(model, xi as tf.Tensor4D, labels, classes))(
            x0,
          );
          return tf.clipByValue(tf.add(x0, tf.mul(tf.sign(grad), direction * epsilon)), 0, 1);
        }) as tf.Tensor4D;
        if (options.onProgress) {
          const loss = tf.tidy(() => crossEntropy(model, x as tf.Tensor4D, labels, classes));
          options.onProgress({ step: 1, steps: 1, loss: (await loss.data())[0] });
          loss.dispose();
        }
      } else {
        const rng = createRng(options.seed ?? 0);
        const start = (): tf.Tensor4D =>
          options.randomStart === false || epsilon === 0
            ? x0.clone()
            : (tf.tidy(() =>
                tf.clipByValue(tf.add(x0, randomUniform(x0.shape, rng, -epsilon, epsilon)), 0, 1),
              ) as tf.Tensor4D);
        x = start();
        // PGD keeps, per image, the best iterate seen (lowest CE to the target, highest CE to the
        // true label): sign steps can overshoot out of the target region on the last step.
        let best: tf.Tensor4D | undefined;
        let bestScore: tf.Tensor1D | undefined;
        const consider = (cur: tf.Tensor4D, ce: tf.Tensor1D) => {
          const score = direction < 0 ? ce : tf.neg(ce);
          if (best === undefined || bestScore === undefined) {
            best = tf.keep(cur.clone());
            bestScore = tf.keep(score.clone()) as tf.Tensor1D;
            return;
          }
          const better = tf.less(score, bestScore);
          const nextBest = tf.keep(tf.where(tf.reshape(better, [n, 1, 1, 1]), cur, best)) as tf.Tensor4D;
          const nextScore = tf.keep(tf.where(better, score, bestScore)) as tf.Tensor1D;
          best.dispose();
          bestScore.dispose();
          best = nextBest;
          bestScore = nextScore;
        };
        try {
          const loop = optimizationLoop(
            { steps: steps * restarts, signal: options.signal, onProgress: options.onProgress },
            (i) => {
              if (i > 0 && i % steps === 0) {
                // Next restart: the last iterate of the previous run is judged, then a new random start.
                consider(x as tf.Tensor4D, lossItems(model, x as tf.Tensor4D, labels, classes));
                (x as tf.Tensor4D).dispose();
                x = tf.keep(start());
              }
              const cur = x as tf.Tensor4D;
              let items: tf.Tensor1D | undefined;
              const { value, grad: g } = tf.valueAndGrad((xi: tf.Tensor) => {
                const ce = lossItems(model, xi as tf.Tensor4D, labels, classes);
                items = tf.keep(ce);
                return tf.sum(ce) as tf.Scalar;
              })(cur);
              consider(cur, items as tf.Tensor1D);
              (items as tf.Tensor1D).dispose();
              const next = tf.keep(
                tf.minimum(tf.maximum(tf.add(cur, tf.mul(tf.sign(g), direction * stepSize)), lo), hi),
              );
              cur.dispose();
              x = next as tf.Tensor4D;
              return { loss: value };
            },
          );
          for await (const _ of loop) void _;
          tf.tidy(() => consider(x as tf.Tensor4D, lossItems(model, x as tf.Tensor4D, labels, classes)));
          (x as tf.Tensor4D).dispose();
          x = best as tf.Tensor4D | undefined;
          best = undefined;
        } finally {
          best?.dispose();
          (bestScore as tf.Tensor1D | undefined)?.dispose();
        }
      }
      const adv = x as tf.Tensor4D;
      const after = await predict(model, adv);
      const perturbation = tf.tidy(() =>
        epsilon === 0
          ? tf.fill(x0.shape, 0.5)
          : tf.clipByValue(tf.add(tf.div(tf.sub(adv, x0), 2 * epsilon), 0.5), 0, 1),
      ) as tf.Tensor4D;
      const outImage = single ? tf.squeeze(adv, [0]) : adv;
      const outPert = single ? tf.squeeze(perturbation, [0]) : perturbation;
      if (single) {
        adv.dispose();
        perturbation.dispose();
      }
      x = undefined;
      return {
        image: outImage as tf.Tensor3D | tf.Tensor4D,
        perturbation: outPert as tf.Tensor3D | tf.Tensor4D,
        before: single ? before[0] : before,
        after: single ? after[0] : after,
        dispose() {
          outImage.dispose();
          outPert.dispose();
        },
      };
    } finally {
      lo.dispose();
      hi.dispose();
    }
  } finally {
    x0.dispose();
    x?.dispose();
  }
}
