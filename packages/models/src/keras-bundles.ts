import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CnnvizError } from '@cnnviz/core';

/** The Keras models nsfwjs bundles as base64 inside `.min.js` modules (MIT, nsfwjs 4.x). */
export type NsfwjsModelName = 'mobilenet_v2' | 'inception_v3';

interface KerasLayerJson {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, unknown][][];
}

interface ModelJson {
  modelTopology: {
    model_config: {
      class_name: string;
      config: { layers: KerasLayerJson[]; input_layers: unknown; output_layers: unknown };
    };
    [k: string]: unknown;
  };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

interface NsfwjsBundle {
  modelJson: () => Promise<{ default: ModelJson }>;
  weightBundles: (() => Promise<{ default: string }>)[];
}

async function bundle(name: NsfwjsModelName): Promise<NsfwjsBundle> {
  try {
    // Each import is lazy: the multi-megabyte weight modules load only when a zoo model is requested.
    if (name === 'mobilenet_v2')
      return (await import('nsfwjs/models/mobilenet_v2')).MobileNetV2Model as unknown as NsfwjsBundle;
    return (await import('nsfwjs/models/inception_v3')).InceptionV3Model as unknown as NsfwjsBundle;
  } catch (e) {
    throw new CnnvizError(
      'MODEL_LOAD',
      `cannot load nsfwjs/models/${name}: ${(e as Error).message}. Install the 'nsfwjs' package (a dependency of @cnnviz/models)`,
      { cause: e },
    );
  }
}

function base64ToBytes(b64: string): Uint8Array {
  const B = (globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } }).Buffer;
  if (B) return new Uint8Array(B.from(b64, 'base64'));
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const QUANT_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

function specBytes(spec: tf.io.WeightsManifestEntry): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization?.dtype;
  return n * (q ? QUANT_BYTES[q] : DTYPE_BYTES[spec.dtype]);
}

/** The unmodified model artifacts of an nsfwjs model (its head included): for reference checks. */
export async function nsfwjsArtifacts(name: NsfwjsModelName): Promise<tf.io.ModelArtifacts> {
  const b = await bundle(name);
  const json = (await b.modelJson()).default;
  const shards = await Promise.all(b.weightBundles.map(async (f) => base64ToBytes((await f()).default)));
  const total = shards.reduce((a, s) => a + s.length, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const s of shards) {
    data.set(s, off);
    off += s.length;
  }
  return {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: data.buffer,
    format: 'layers-model',
  };
}

/**
 * Artifacts for a backbone cut after layer `cut` and rebuilt for `[size, size, 3]` inputs: the layers
 * after the cut (nsfwjs's NSFW head) and their weights are dropped, so they are never loaded.
 */
export function cutArtifacts(art: tf.io.ModelArtifacts, cut: string, size: number): tf.io.ModelArtifacts {
  const topo = JSON.parse(JSON.stringify(art.modelTopology)) as ModelJson['modelTopology'];
  const cfg = topo.model_config.config;
  const byName = new Map(cfg.layers.map((l) => [l.name, l]));
  if (!byName.has(cut)) throw new CnnvizError('MODEL_LOAD', `layer ${cut} not found in the model topology`);
  const keep = new Set<string>();
  const visit = (n: string) => {
    if (keep.has(n)) return;
    keep.add(n);
    for (const node of byName.get(n)!.inbound_nodes) for (const [src] of node) visit(src);
  };
  visit(cut);
  cfg.layers = cfg.layers.filter((l) => keep.has(l.name));
  for (const l of cfg.layers) {
    if (l.class_name === 'InputLayer') l.config.batch_input_shape = [null, size, size, 3];
  }
  cfg.output_layers = [[cut, 0, 0]];
  delete topo.training_config;

  const specs = art.weightSpecs ?? [];
  const src = new Uint8Array(tf.io.CompositeArrayBuffer.join(art.weightData!));
  const kept: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  let off = 0;
  for (const spec of specs) {
    const n = specBytes(spec);
    if (keep.has(spec.name.split('/')[0])) {
      kept.push(spec);
      parts.push(src.subarray(off, off + n));
    }
    off += n;
  }
  if (off !== src.length) {
    throw new CnnvizError(
      'MODEL_LOAD',
      `weight data has ${src.length} bytes but the manifest describes ${off}`,
    );
  }
  const data = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p, o);
    o += p.length;
  }
  return { modelTopology: topo, weightSpecs: kept, weightData: data.buffer, format: 'layers-model' };
}

/** Loads an nsfwjs backbone as a tf.LayersModel cut after `cut`, for `[size, size, 3]` inputs. */
export async function loadNsfwjsBackbone(
  name: NsfwjsModelName,
  cut: string,
  size: number,
): Promise<tfl.LayersModel> {
  const art = cutArtifacts(await nsfwjsArtifacts(name), cut, size);
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory(art));
  } catch (e) {
    throw new CnnvizError(
      'MODEL_LOAD',
      `cannot build nsfwjs ${name} cut at ${cut}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}
