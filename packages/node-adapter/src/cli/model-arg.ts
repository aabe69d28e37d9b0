import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { VisionModel } from '@cnnviz/core';
import { CliError } from './errors.js';

/** Zoo models by CLI name; aliases map to the canonical name. */
export const ZOO_NAMES = ['fashion-cnn', 'mobilenet-v2', 'inception-v3'] as const;
export type ZooName = (typeof ZOO_NAMES)[number];

const ALIASES: Record<string, ZooName> = {
  'fashion-cnn': 'fashion-cnn',
  fashion: 'fashion-cnn',
  fashioncnn: 'fashion-cnn',
  'mobilenet-v2': 'mobilenet-v2',
  mobilenet: 'mobilenet-v2',
  mobilenetv2: 'mobilenet-v2',
  'inception-v3': 'inception-v3',
  inception: 'inception-v3',
  inceptionv3: 'inception-v3',
};

/** Layers a zoo entry recommends per technique (DESIGN: `layersOfInterest`). */
export interface LayersOfInterest {
  dream?: string | string[];
  style?: string[];
  content?: string;
  gradcam?: string;
  [k: string]: unknown;
}

export interface ModelRef {
  /** Canonical zoo name, or the model.json path. */
  name: string;
  zoo?: ZooName;
  path?: string;
}

/**
 * Checks a `--model` value without loading anything: a zoo name (or alias), a model.json, or a
 * directory holding one. Anything else is MODEL_LOAD with the list of names.
 */
export function parseModelRef(value: string): ModelRef {
  const zoo = ALIASES[value.toLowerCase()];
  if (zoo) return { name: zoo, zoo };
  let path = value;
  try {
    if (statSync(value).isDirectory()) path = join(value, 'model.json');
  } catch {
    /* handled below */
  }
  if (existsSync(path) && statSync(path).isFile()) return { name: path, path };
  const looksLikePath = /[/\\]|\.json$/i.test(value);
  const key = value.toLowerCase().replace(/[^a-z0-9]/g, '');
  const close = ZOO_NAMES.filter(
    (z) => key.length >= 3 && (z.replace('-', '').startsWith(key.slice(0, 3)) || z.includes(key)),
  );
  throw new CliError(
    'MODEL_LOAD',
    looksLikePath
      ? `cannot load model "${value}": no such file — pass the path to a TF.js model.json (its weight files beside it), or a zoo name: ${ZOO_NAMES.join(', ')}`
      : `unknown model "${value}"${close.length ? ` (did you mean ${close[0]}?)` : ''} — use a zoo name (${ZOO_NAMES.join(', ')}) or a path to a model.json`,
  );
}

/** A VisionModel with what the zoo says about it. */
export interface LoadedModel {
  ref: ModelRef;
  model: VisionModel;
  labels?: string[];
  layersOfInterest: LayersOfInterest;
  /** The square size images are resized to for a model that takes any size. */
  size?: number;
}

/** The default image size of a zoo model that takes any size; fixed-size models ignore it. */
export const DEFAULT_SIZE: Record<ZooName, number | undefined> = {
  'fashion-cnn': undefined,
  'mobilenet-v2': 224,
  'inception-v3': 299,
};

function metadataOf(model: VisionModel): { labels?: string[]; layersOfInterest: LayersOfInterest } {
  // Zoo models are `VisionModel & { entry: ZooEntry }`; a model.json has no entry.
  const entry = (
    model as VisionModel & { entry?: { labels?: string[]; layersOfInterest?: LayersOfInterest } }
  ).entry;
  return { labels: model.labels ?? entry?.labels, layersOfInterest: { ...(entry?.layersOfInterest ?? {}) } };
}

const loaded = new Map<string, Promise<LoadedModel>>();

/**
 * Loads `ref` through @cnnviz/models (imported on demand, so `--help` and argument errors stay
 * fast). Cached per model and size: `cnnviz gallery` runs several subcommands on one model.
 */
export function loadModelRef(ref: ModelRef, size?: number): Promise<LoadedModel> {
  const key = `${ref.name}@${size ?? ''}`;
  let hit = loaded.get(key);
  if (!hit) {
    hit = loadUncached(ref, size);
    loaded.set(key, hit);
    hit.catch(() => loaded.delete(key));
  }
  return hit;
}

async function loadUncached(ref: ModelRef, size?: number): Promise<LoadedModel> {
  const models = await import('@cnnviz/models');
  let model: VisionModel;
  if (ref.zoo === 'fashion-cnn') model = await models.zoo.fashionCnn();
  else if (ref.zoo === 'mobilenet-v2') {
    size ??= DEFAULT_SIZE['mobilenet-v2'];
    model = await models.zoo.mobilenetV2Features({ inputSize: size });
  } else if (ref.zoo === 'inception-v3') {
    size ??= DEFAULT_SIZE['inception-v3'];
    model = await models.zoo.inceptionV3Features({ inputSize: size });
  } else model = await models.loadModel(ref.path!);
  const [h, w] = model.inputShape;
  if (h !== null && w !== null) size = undefined;
  else size ??= 224;
  return { ref, model, ...metadataOf(model), ...(size !== undefined ? { size } : {}) };
}

/** Names of the images bundled with @cnnviz/models (`chelsea`, ...), or none if it has none. */
export async function bundledImageNames(): Promise<string[]> {
  const { images } = await import('@cnnviz/models');
  return images.list();
}
