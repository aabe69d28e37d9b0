import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { checkNumber, CnnvizError, type InputRange, type VisionModel } from '@cnnviz/core';
import { readAsset } from './assets.js';
import { FASHION_LABELS } from './datasets.js';
import { fromLayersModel } from './layers-model.js';
import { zooLayersModel, zooWeightPackages, type ZooBackboneName } from './zoo-weights.js';

/** What a zoo model is, where it comes from, and which layers the techniques use by default. */
export interface ZooEntry {
  name: string;
  description: string;
  licence: string;
  source: string;
  /** Nominal input `[h, w, c]` (backbones take other sizes too: see `minInputSize`). */
  inputSize: [number, number, number];
  minInputSize: number;
  inputRange: InputRange;
  layersOfInterest: {
    /** DeepDream: layers whose activation norms are maximised. */
    dream: string[];
    /** Style / texture: layers whose Gram matrices are matched. */
    style: string[];
    /** Style transfer / inversion content layer. */
    content: string;
    /** Grad-CAM: the last convolutional feature map. */
    gradcam: string;
  };
  /** Class names of the logits; undefined for feature backbones (logits = pooled features). */
  labels?: string[];
  /** Bytes of the weight files. */
  weightsBytes: number;
  /** The npm package holding the weights, when they are not inside @cnnviz/models. */
  weightsPackage?: string;
}

/** A zoo model: a VisionModel plus its entry. */
export type ZooModel = VisionModel & { entry: ZooEntry };

/** Metadata of every zoo model; available without loading any weights. */
export const zooEntries = {
  fashionCnn: {
    name: 'fashionCnn',
    description:
      'Small CNN (conv3x3 16/32/64 + ReLU + maxpool, dense 64, 10 logits; 89.5k parameters) trained in ' +
      'this repo on the 60k Fashion-MNIST training images (scripts/train-fashion.ts)',
    licence: 'MIT (weights trained in this repository; Fashion-MNIST data MIT, Zalando SE)',
    source: 'packages/models/assets/fashion-cnn (npm run train:fashion)',
    inputSize: [28, 28, 1],
    minInputSize: 28,
    inputRange: [0, 1],
    layersOfInterest: {
      dream: ['conv3'],
      style: ['conv1', 'conv2', 'conv3'],
      content: 'conv2',
      gradcam: 'conv3',
    },
    labels: FASHION_LABELS,
    weightsBytes: 358_184,
  },
  mobilenetV2Features: {
    name: 'mobilenetV2Features',
    description:
      'MobileNetV2 (alpha 1.0) ImageNet-pretrained backbone up to out_relu (1280 channels, stride 32); ' +
      'logits are the global-average-pooled out_relu features. Fine-tuned by nsfwjs; its NSFW classifier head is not shipped.',
    licence: 'MIT (nsfwjs 4.4.0); MobileNetV2 ImageNet weights from Keras Applications (Apache-2.0)',
    source:
      'npm @cnnviz/zoo-mobilenet-v2, extracted from nsfwjs 4.4.0 models/mobilenet_v2 (Keras 2.2.4 model, ' +
      'weights uint8-quantised as nsfwjs ships them)',
    inputSize: [224, 224, 3],
    minInputSize: 32,
    // nsfwjs feeds pixels / 255, and the BatchNorm statistics match 0..1 inputs (checked on real images).
    inputRange: [0, 1],
    layersOfInterest: {
      dream: ['block_13_expand_relu'],
      // The depthwise (spatial 3x3) outputs carry the texture; the expand layers are 1x1 maps of
      // the block input and gave stripy, blurred textures (packages/synthesis README).
      style: [
        'Conv1_relu',
        'expanded_conv_depthwise_relu',
        'block_1_depthwise_relu',
        'block_3_depthwise_relu',
        'block_6_depthwise_relu',
        'block_13_depthwise_relu',
      ],
      content: 'block_6_expand_relu',
      gradcam: 'out_relu',
    },
    weightsBytes: 2_257_984,
    weightsPackage: zooWeightPackages.mobilenetV2Features,
  },
  inceptionV3Features: {
    name: 'inceptionV3Features',
    description:
      'InceptionV3 ImageNet-pretrained backbone up to mixed10 (2048 channels), the classic DeepDream network; ' +
      'logits are the global-average-pooled mixed10 features. BatchNorm (scale: false) runs with gamma = 1. ' +
      'Fine-tuned by nsfwjs; its NSFW classifier head is not shipped.',
    licence: 'MIT (nsfwjs 4.4.0); InceptionV3 ImageNet weights from Keras Applications (Apache-2.0)',
    source:
      'npm @cnnviz/zoo-inception-v3 (optional), extracted from nsfwjs 4.4.0 models/inception_v3 (Keras 2.2.4 ' +
      'model, weights uint8-quantised as nsfwjs ships them)',
    inputSize: [299, 299, 3],
    minInputSize: 75,
    inputRange: [0, 1],
    layersOfInterest: {
      dream: ['mixed3', 'mixed5'],
      style: ['activation_1', 'activation_3', 'mixed0', 'mixed2', 'mixed5'],
      content: 'mixed5',
      gradcam: 'mixed10',
    },
    weightsBytes: 21_802_784,
    weightsPackage: zooWeightPackages.inceptionV3Features,
  },
} satisfies Record<string, ZooEntry>;

function withEntry(model: VisionModel, entry: ZooEntry, size?: number): ZooModel {
  const e: ZooEntry = size === undefined ? entry : { ...entry, inputSize: [size, size, entry.inputSize[2]] };
  return Object.assign(model, { entry: e });
}

/** The Fashion-MNIST CNN trained in this repo (bundled weights, 350 KB). Input `[28,28,1]` in 0..1. */
async function fashionCnn(): Promise<ZooModel> {
  const [jsonBytes, weights] = await Promise.all([
    readAsset('fashion-cnn/model.json'),
    readAsset('fashion-cnn/weights.bin'),
  ]);
  let model: tfl.LayersModel;
  try {
    const json = JSON.parse(new TextDecoder().decode(jsonBytes)) as tf.io.ModelJSON;
    const art = await tf.io.getModelArtifactsForJSON(json, async (manifest) => [
      manifest.flatMap((g) => g.weights),
      weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
    ]);
    model = await tfl.loadLayersModel(tf.io.fromMemory(art));
  } catch (e) {
    throw new CnnvizError('MODEL_LOAD', `cannot load the bundled fashionCnn: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const entry = zooEntries.fashionCnn;
  return withEntry(fromLayersModel(model, { inputRange: entry.inputRange, labels: entry.labels }), entry);
}

/** Options of the backbone zoo models. */
export interface BackboneOptions {
  /** Square input size the layer shapes are computed for (other sizes still run). */
  inputSize?: number;
}

async function backbone(name: ZooBackboneName, options: BackboneOptions): Promise<ZooModel> {
  const entry = zooEntries[name];
  const size = options.inputSize ?? entry.inputSize[0];
  checkNumber(size, 'inputSize', { min: entry.minInputSize, max: 2048, integer: true });
  const model = await zooLayersModel(name, { inputSize: size });
  const vm = fromLayersModel(model, { inputRange: entry.inputRange, logits: 'avg' });
  return withEntry(vm, entry, size);
}

/**
 * ImageNet-pretrained MobileNetV2 backbone (weights from @cnnviz/zoo-mobilenet-v2, a dependency; fully
 * offline), cut at out_relu: every intermediate layer can be tapped, logits are pooled features, no labels.
 * Loaded lazily on call. `inputSize` (default 224, ≥ 32; ≥ 96 recommended) sets the layer shapes.
 */
async function mobilenetV2Features(options: BackboneOptions = {}): Promise<ZooModel> {
  return backbone('mobilenetV2Features', options);
}

/**
 * ImageNet-pretrained InceptionV3 backbone (weights from @cnnviz/zoo-inception-v3, an optional peer:
 * without it this throws MODEL_NOT_INSTALLED), cut at mixed10; taps mixed0..mixed10 and every
 * conv/activation. BatchNorm layers have no gamma (scale: false) and run with ones so that their gradient
 * exists. `inputSize` default 299 (≥ 75).
 */
async function inceptionV3Features(options: BackboneOptions = {}): Promise<ZooModel> {
  return backbone('inceptionV3Features', options);
}

/** Pretrained models that work offline; each call loads a fresh copy the caller disposes. */
export const zoo = { fashionCnn, mobilenetV2Features, inceptionV3Features };
