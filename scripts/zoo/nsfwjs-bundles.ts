import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { VisionModel } from '@cnnviz/core';
import { cutArtifacts, fromLayersModel } from '@cnnviz/models';

/** The models nsfwjs 4.x ships as base64 inside `.min.js` modules (MIT). */
export type NsfwjsModelName = 'mobilenet_v2' | 'inception_v3' | 'mobilenet_v2_mid';

interface NsfwjsBundle {
  modelJson: () => Promise<{ default: tf.io.ModelJSON }>;
  weightBundles: (() => Promise<{ default: string }>)[];
}

async function bundle(name: NsfwjsModelName): Promise<NsfwjsBundle> {
  if (name === 'mobilenet_v2')
    return (await import('nsfwjs/models/mobilenet_v2')).MobileNetV2Model as unknown as NsfwjsBundle;
  if (name === 'mobilenet_v2_mid')
    return (await import('nsfwjs/models/mobilenet_v2_mid')).MobileNetV2MidModel as unknown as NsfwjsBundle;
  return (await import('nsfwjs/models/inception_v3')).InceptionV3Model as unknown as NsfwjsBundle;
}

/** An nsfwjs model exactly as nsfwjs ships it (its NSFW head included), plus its model.json fields. */
export async function nsfwjsArtifacts(
  name: NsfwjsModelName,
): Promise<{ json: tf.io.ModelJSON; artifacts: tf.io.ModelArtifacts }> {
  const b = await bundle(name);
  const json = (await b.modelJson()).default;
  const shards = await Promise.all(
    b.weightBundles.map(async (f) => new Uint8Array(Buffer.from((await f()).default, 'base64'))),
  );
  const data = new Uint8Array(shards.reduce((a, s) => a + s.length, 0));
  let off = 0;
  for (const s of shards) {
    data.set(s, off);
    off += s.length;
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer,
    format: name === 'mobilenet_v2_mid' ? 'graph-model' : 'layers-model',
  };
  return { json, artifacts };
}

/** Where @cnnviz/models cut each backbone, and the zoo entry it became. */
export const BACKBONES = {
  mobilenetV2Features: { nsfwjs: 'mobilenet_v2', cut: 'out_relu', size: 224 },
  inceptionV3Features: { nsfwjs: 'inception_v3', cut: 'mixed10', size: 299 },
} as const;

/**
 * A zoo backbone loaded the way @cnnviz/models 0.1.0 loaded it, straight from nsfwjs: the reference the
 * weight packages are checked against.
 */
export async function nsfwjsBackbone(name: keyof typeof BACKBONES, size: number): Promise<VisionModel> {
  const b = BACKBONES[name];
  const { artifacts } = await nsfwjsArtifacts(b.nsfwjs);
  const model = await tfl.loadLayersModel(tf.io.fromMemory(cutArtifacts(artifacts, b.cut, size)));
  return fromLayersModel(model, { inputRange: [0, 1], logits: 'avg' });
}
