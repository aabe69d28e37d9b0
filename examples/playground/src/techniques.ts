import * as tf from '@tensorflow/tfjs-core';
import { gradCam, guidedBackprop, occlusion, saliency } from '@cnnviz/attribution';
import { applyColormap, overlayHeatmap, type Step, type VisionModel } from '@cnnviz/core';
import { extractFeatures, scatterPlot, tsneSteps } from '@cnnviz/embedding';
import { datasets, zoo, type ZooModel } from '@cnnviz/models';
import { adversarial, deepDream, transferStyle } from '@cnnviz/synthesis';
import { loadPicture, modelSize } from './catalog.js';

export type TechniqueId =
  'saliency' | 'gradcam' | 'guided' | 'occlusion' | 'deepdream' | 'style' | 'adversarial' | 'tsne';

export interface TechniqueInfo {
  id: TechniqueId;
  label: string;
  /** What the layer picker sets, or undefined when the technique takes no layer. */
  layerRole?: string;
  /** The layer preselected for a model. */
  defaultLayer?(model: ZooModel): string;
  /** Whether a class target applies (else it is ignored). */
  usesTarget: boolean;
  /** Default number of steps, for iterative techniques. */
  defaultSteps?(model: ZooModel): number;
  blurb: string;
}

/** One update of a run: progress, and a picture to show (the receiver disposes it). */
export interface Frame {
  step: number;
  steps: number;
  loss?: number;
  picture?: tf.Tensor3D;
  caption?: string;
}

export interface RunSettings {
  model: ZooModel;
  /** The input at the model's size and channels, 0..1 (not disposed by the run). */
  image: tf.Tensor3D;
  layer?: string;
  /** Class (logit) index; undefined = the model's prediction. */
  target?: number;
  steps?: number;
  /** Style image name (style transfer). */
  style?: string;
  signal?: AbortSignal;
}

type Emit = (frame: Frame) => Promise<void>;

const small = (model: ZooModel) => modelSize(model)[0] <= 64;
const lastSpatialConv = (model: ZooModel) => model.entry.layersOfInterest.gradcam;

export const TECHNIQUES: TechniqueInfo[] = [
  {
    id: 'saliency',
    label: 'Saliency map',
    usesTarget: true,
    blurb: '|d score / d pixel|, max over colour channels (Simonyan et al. 2014).',
  },
  {
    id: 'gradcam',
    label: 'Grad-CAM',
    layerRole: 'feature map',
    defaultLayer: lastSpatialConv,
    usesTarget: true,
    blurb: 'Feature maps weighted by their mean gradient, ReLU, over the image (Selvaraju et al. 2017).',
  },
  {
    id: 'guided',
    label: 'Guided backprop',
    usesTarget: true,
    blurb:
      'The pixel gradient with every ReLU passing only positive gradient back (Springenberg et al. 2015).',
  },
  {
    id: 'occlusion',
    label: 'Occlusion',
    usesTarget: true,
    blurb:
      'Score drop when a black patch hides each region; red hurts the class, blue helps (Zeiler & Fergus 2014).',
  },
  {
    id: 'deepdream',
    label: 'DeepDream',
    layerRole: 'dream layer',
    defaultLayer: (m) => m.entry.layersOfInterest.dream[0],
    usesTarget: false,
    defaultSteps: (m) => (small(m) ? 20 : 30),
    blurb:
      "Gradient ascent on the image to amplify a layer's activations, octave by octave (Mordvintsev et al. 2015).",
  },
  {
    id: 'style',
    label: 'Style transfer',
    layerRole: 'content layer',
    defaultLayer: (m) => m.entry.layersOfInterest.content,
    usesTarget: false,
    defaultSteps: (m) => (small(m) ? 40 : 60),
    blurb: 'Keep the content features, match the Gram matrices of a painting (Gatys et al. 2016).',
  },
  {
    id: 'adversarial',
    label: 'Adversarial (PGD)',
    usesTarget: true,
    defaultSteps: () => 20,
    blurb: 'Small signed-gradient steps within ±ε per pixel change the prediction (Madry et al. 2018).',
  },
  {
    id: 'tsne',
    label: 't-SNE of Fashion-MNIST',
    layerRole: 'feature layer',
    defaultLayer: (m) => (m.entry.name === 'fashionCnn' ? 'dense1' : 'dense1'),
    usesTarget: false,
    defaultSteps: () => 300,
    blurb:
      '500 test images by their features, placed so close neighbours stay close (van der Maaten & Hinton 2008).',
  },
];

export function techniqueInfo(id: string): TechniqueInfo {
  const t = TECHNIQUES.find((x) => x.id === id);
  if (!t) throw new Error(`unknown technique ${id}`);
  return t;
}

/** Top-1 class of the model on the image, with its softmax probability. */
export async function predict(
  model: VisionModel,
  image: tf.Tensor3D,
): Promise<{ label: number; prob: number }> {
  const probs = tf.tidy(() =>
    tf.softmax(model.forward(model.preprocess(tf.expandDims(image, 0) as tf.Tensor4D)).logits),
  );
  const p = await probs.data();
  probs.dispose();
  let label = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[label]) label = i;
  return { label, prob: p[label] };
}

export function className(model: VisionModel, k: number): string {
  return model.labels?.[k] ?? `unit ${k}`;
}

/** A signed gradient as an image: grey is 0, ±max|g| at the ends. */
function signedImage(raw: tf.Tensor3D): tf.Tensor3D {
  return tf.tidy(() => {
    const m = tf.maximum(tf.max(tf.abs(raw)), 1e-12);
    return tf.clipByValue(tf.add(0.5, tf.div(raw, tf.mul(m, 2))), 0, 1) as tf.Tensor3D;
  });
}

/** Images side by side (grey ones shown as RGB). */
function sideBySide(images: tf.Tensor3D[]): tf.Tensor3D {
  return tf.tidy(() => {
    const rgb = images.map((im) => (im.shape[2] === 1 ? tf.tile(im, [1, 1, 3]) : im));
    const gap = tf.ones([rgb[0].shape[0], 2, 3]);
    return tf.concat(
      rgb.flatMap((im, i) => (i === 0 ? [im] : [gap, im])),
      1,
    ) as tf.Tensor3D;
  });
}

async function target(s: RunSettings): Promise<number> {
  return s.target ?? (await predict(s.model, s.image)).label;
}

/** Drives an iterative technique's steps into frames (the step image becomes the picture). */
async function drive(steps: AsyncIterable<Step>, emit: Emit, caption?: string): Promise<void> {
  for await (const s of steps) {
    await emit({ step: s.step, steps: s.steps, loss: s.loss, picture: s.image, caption });
  }
}

const runners: Record<TechniqueId, (s: RunSettings, emit: Emit) => Promise<void>> = {
  async saliency(s, emit) {
    const k = await target(s);
    const r = await saliency(s.model, s.image, { target: k, signal: s.signal });
    try {
      await emit({
        step: 1,
        steps: 1,
        picture: applyColormap(r.map, 'inferno'),
        caption: `saliency of “${className(s.model, k)}”`,
      });
    } finally {
      r.dispose();
    }
  },

  async gradcam(s, emit) {
    const k = await target(s);
    const r = await gradCam(s.model, s.image, { target: k, layer: s.layer, signal: s.signal });
    try {
      const picture = overlayHeatmap(s.image, r.map, { alpha: 0.5, colormap: 'jet' });
      await emit({
        step: 1,
        steps: 1,
        picture,
        caption: `Grad-CAM of “${className(s.model, k)}” at ${s.layer ?? 'default layer'}`,
      });
    } finally {
      r.dispose();
    }
  },

  async guided(s, emit) {
    const k = await target(s);
    const r = await guidedBackprop(s.model, s.image, { target: k, signal: s.signal });
    try {
      await emit({
        step: 1,
        steps: 1,
        picture: signedImage(r.raw as tf.Tensor3D),
        caption: `guided backprop of “${className(s.model, k)}”`,
      });
    } finally {
      r.dispose();
    }
  },

  async occlusion(s, emit) {
    const k = await target(s);
    const size = modelSize(s.model)[0];
    const window = Math.max(4, Math.round(size / 5));
    const stride = Math.max(1, Math.round(window / 2));
    let windows = 1;
    const r = await occlusion(s.model, s.image, {
      target: k,
      window,
      stride,
      signal: s.signal,
      onProgress: (p) => {
        windows = p.total;
        void emit({ step: p.done, steps: p.total });
      },
    });
    try {
      const picture = overlayHeatmap(s.image, r.map, { alpha: 0.6, colormap: 'rdbu', signed: true });
      await emit({
        step: windows,
        steps: windows,
        picture,
        caption: `drop of “${className(s.model, k)}”, ${window}px patch, stride ${stride}`,
      });
    } finally {
      r.dispose();
    }
  },

  async deepdream(s, emit) {
    const size = modelSize(s.model)[0];
    const octaves = small(s.model) ? 2 : 3;
    const total = s.steps ?? 20;
    const steps = Math.max(1, Math.round(total / octaves));
    await drive(
      deepDream(s.model, s.image, {
        layer: s.layer,
        octaves,
        octaveScale: 1.4,
        steps,
        stepSize: small(s.model) ? 0.03 : 0.015,
        jitter: Math.max(1, Math.round(size / 14)),
        seed: 1,
        imageEvery: 1,
        signal: s.signal,
      }),
      emit,
      `dreaming at ${s.layer}`,
    );
  },

  async style(s, emit) {
    const style = await loadPicture(s.style ?? 'starry_night', s.model);
    try {
      await drive(
        transferStyle(s.model, s.image, [{ image: style, weight: 1 }], {
          contentLayer: s.layer,
          steps: s.steps ?? 40,
          contentWeight: 1,
          styleWeight: 100,
          tvWeight: 1,
          lr: 0.1,
          seed: 1,
          imageEvery: 1,
          signal: s.signal,
        }),
        emit,
        `style of ${s.style ?? 'starry_night'}, content at ${s.layer}`,
      );
    } finally {
      style.dispose();
    }
  },

  async adversarial(s, emit) {
    const epsilon = small(s.model) ? 0.1 : 0.03;
    const steps = s.steps ?? 20;
    const r = await adversarial(s.model, s.image, {
      method: 'pgd',
      epsilon,
      steps,
      ...(s.target !== undefined ? { target: s.target } : {}),
      signal: s.signal,
      onProgress: (p) => void emit({ step: p.step, steps: p.steps, loss: p.loss }),
    });
    try {
      const picture = sideBySide([s.image, r.perturbation, r.image]);
      const name = (p: { label: number; prob: number }) =>
        `${className(s.model, p.label)} (p ${p.prob.toFixed(2)})`;
      await emit({
        step: steps,
        steps,
        picture,
        caption: `original | perturbation (±${epsilon}) | adversarial: ${name(r.before)} → ${name(r.after)}`,
      });
    } finally {
      r.dispose();
    }
  },

  async tsne(s, emit) {
    const own = s.model.entry.name === 'fashionCnn';
    const model = own ? s.model : await zoo.fashionCnn();
    const layer = own && s.layer ? s.layer : 'dense1';
    const data = await datasets.fashionMnistTest1k();
    let features: tf.Tensor2D | undefined;
    try {
      const n = 500;
      const imgs = tf.slice(data.images, [0, 0, 0, 0], [n, -1, -1, -1]) as tf.Tensor4D;
      try {
        features = await extractFeatures(model, imgs, { layer, batchSize: 100, signal: s.signal });
      } finally {
        imgs.dispose();
      }
      const labels = data.labels.slice(0, n);
      const iterations = s.steps ?? 300;
      for await (const step of tsneSteps(features, {
        iterations,
        perplexity: 30,
        seed: 1,
        reportEvery: 10,
        signal: s.signal,
      })) {
        const picture = step.embedding
          ? scatterPlot(step.embedding, { labels, format: 'png', width: 320, height: 320, pointRadius: 2 })
          : undefined;
        await emit({
          step: step.iteration,
          steps: step.iterations,
          loss: step.kl,
          picture,
          caption: `${n} Fashion-MNIST test images, fashionCnn ${layer} features, coloured by class`,
        });
      }
    } finally {
      features?.dispose();
      data.dispose();
      if (!own) model.dispose?.();
    }
  },
};

/** Runs a technique, reporting progress and pictures through `emit`; throws CnnvizError('ABORTED') when cancelled. */
export function runTechnique(id: TechniqueId, settings: RunSettings, emit: Emit): Promise<void> {
  return runners[id](settings, emit);
}
