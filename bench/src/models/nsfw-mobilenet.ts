import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

const require = createRequire(import.meta.url);

interface ModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
}

/**
 * nsfwjs's MobileNetV2 LayersModel (224px, input 0..1), loaded offline the way nsfwjs does: the model JSON and the
 * weight shards ship as UMD `.min.js` bundles whose export is the JSON object / a base64 string.
 */
export async function loadNsfwMobileNetV2(): Promise<tfl.LayersModel> {
  // nsfwjs's `exports` map hides dist/models; resolve the package entry and walk from there.
  const dir = join(dirname(require.resolve('nsfwjs')), '..', 'models', 'mobilenet_v2');
  const json = require(join(dir, 'model.min.js')) as ModelJson;
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Buffer[] = [];
  for (const group of json.weightsManifest) {
    for (const p of group.paths)
      buffers.push(Buffer.from(require(join(dir, `${p}.min.js`)) as string, 'base64'));
    weightSpecs.push(...group.weights);
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }),
  );
}
