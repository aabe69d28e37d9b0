import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfconv from '@tensorflow/tfjs-converter';
import { check, CnnvizError, type InputRange, type VisionModel } from '@cnnviz/core';
import { fromGraphModel } from './graph-model.js';
import { normalizeKeras3, restoreDepthMultipliers } from './keras3.js';
import { fromLayersModel, type ModelOptions } from './layers-model.js';
import { checkLayerClasses, unsupportedFromTfjs } from './supported.js';

/** Options of `loadModel`: what `fromLayersModel`/`fromGraphModel` take, defaults from model.json metadata. */
export type LoadModelOptions = ModelOptions;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

function isUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !s.startsWith('file://');
}

function loadError(path: string, what: string, cause?: unknown): CnnvizError {
  const msg = cause instanceof Error ? `: ${cause.message}` : '';
  return new CnnvizError('MODEL_LOAD', `cannot load model ${path}: ${what}${msg}`, { cause });
}

/**
 * A tf.io.IOHandler that reads a model.json and its weight files from the local file system
 * (Node only). `node:fs` is imported on first use, so the package still loads in browsers.
 * Errors are CnnvizError('MODEL_LOAD') naming the file that failed.
 */
export function fileHandler(modelJsonPath: string): tf.io.IOHandler {
  const path = modelJsonPath.startsWith('file://')
    ? decodeURIComponent(new URL(modelJsonPath).pathname)
    : modelJsonPath;
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const fs = await import('node:fs/promises');
      const { dirname, resolve } = await import('node:path');
      let text: string;
      try {
        text = await fs.readFile(path, 'utf8');
      } catch (e) {
        throw loadError(path, 'cannot read the file', e);
      }
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(text) as tf.io.ModelJSON;
      } catch (e) {
        throw loadError(path, 'model.json is not valid JSON', e);
      }
      if (
        typeof json !== 'object' ||
        json === null ||
        typeof json.modelTopology !== 'object' ||
        json.modelTopology === null
      ) {
        throw loadError(
          path,
          'model.json has no modelTopology (expected a TensorFlow.js layers or graph model)',
        );
      }
      const dir = dirname(path);
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const p of group.paths) {
            const file = resolve(dir, p);
            try {
              const b = await fs.readFile(file);
              buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
            } catch (e) {
              throw loadError(path, `cannot read weight file ${file}`, e);
            }
          }
          specs.push(...group.weights);
        }
        return [specs, tf.io.CompositeArrayBuffer.join(buffers)];
      });
    },
  };
}

const SPEC_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2, float32: 4, int32: 4, bool: 1 };

/** Weight data shorter or longer than the manifest says → MODEL_LOAD (tfjs would fail obscurely later). */
function checkWeightBytes(art: tf.io.ModelArtifacts, where: string): void {
  if (!art.weightSpecs || art.weightData === undefined) return;
  let want = 0;
  for (const s of art.weightSpecs) {
    const bytes = SPEC_BYTES[s.quantization?.dtype ?? s.dtype];
    if (bytes === undefined) return; // strings: variable length, leave it to tfjs
    want += s.shape.reduce((a, b) => a * b, 1) * bytes;
  }
  const have = tf.io.CompositeArrayBuffer.join(art.weightData).byteLength;
  if (have !== want) {
    throw loadError(
      where,
      `the weight files hold ${have} bytes but the manifest describes ${want} (truncated or wrong file?)`,
    );
  }
}

function metaOptions(art: tf.io.ModelArtifacts, options: LoadModelOptions): LoadModelOptions {
  const meta = (art.userDefinedMetadata ?? {}) as { labels?: unknown; inputRange?: unknown };
  return {
    labels: options.labels ?? (Array.isArray(meta.labels) ? meta.labels.map(String) : undefined),
    inputRange: options.inputRange ?? (meta.inputRange as InputRange | undefined),
  };
}

/**
 * Loads a TensorFlow.js model (layers or graph format) as a VisionModel. `source` is a path to a
 * model.json (Node: read from disk), a URL (tf.io.http), or any tf.io.IOHandler. Labels and the
 * input range default to model.json's `userDefinedMetadata` `{ labels, inputRange }`. Keras 3 exports
 * (`batch_shape`, `{args, kwargs}` inbound nodes, DTypePolicy objects) are normalised first. A layer
 * or op cnnviz cannot differentiate is CnnvizError('UNSUPPORTED_LAYER' | 'UNSUPPORTED_OP') naming
 * it. Any other failure
 * (missing or corrupt model.json, missing or short weight file) is CnnvizError('MODEL_LOAD')
 * naming the source. The VisionModel owns the loaded model: `dispose()` frees its weights.
 */
export async function loadModel(
  source: string | tf.io.IOHandler,
  options: LoadModelOptions = {},
): Promise<VisionModel> {
  check(
    typeof source === 'string' ||
      (typeof source === 'object' && source !== null && typeof source.load === 'function'),
    'BAD_INPUT',
    'loadModel expects a path or URL to model.json, or a tf.io.IOHandler',
  );
  const where = typeof source === 'string' ? source : 'IOHandler';
  const handler =
    typeof source !== 'string'
      ? source
      : isUrl(source) || !isNode()
        ? tf.io.http(source)
        : fileHandler(source);
  let art: tf.io.ModelArtifacts;
  try {
    art = await handler.load!();
  } catch (e) {
    if (CnnvizError.isInstance(e)) throw e;
    throw loadError(where, 'reading the artifacts failed', e);
  }
  if (!art || typeof art.modelTopology !== 'object' || art.modelTopology === null) {
    throw loadError(where, 'no modelTopology (expected a TensorFlow.js layers or graph model)');
  }
  checkWeightBytes(art, where);
  const opts = metaOptions(art, options);
  const topo = art.modelTopology as Record<string, unknown>;
  const isGraph = art.format === 'graph-model' || Array.isArray(topo.node);
  if (!isGraph) {
    // Keras 3 exports → the Keras 2 form tfjs-layers reads; unknown or non-differentiable layers named now.
    art = restoreDepthMultipliers(normalizeKeras3(art));
    checkLayerClasses(art.modelTopology);
  }
  try {
    if (isGraph) {
      const g = await tfconv.loadGraphModel(tf.io.fromMemory(art));
      return fromGraphModel(g, opts);
    }
    const m = await tfl.loadLayersModel(tf.io.fromMemory(art));
    return fromLayersModel(m, opts);
  } catch (e) {
    if (CnnvizError.isInstance(e) && e.code !== 'MODEL_LOAD') throw e;
    if (CnnvizError.isInstance(e)) throw e;
    throw (
      unsupportedFromTfjs(e) ??
      loadError(where, `building the ${isGraph ? 'graph' : 'layers'} model failed`, e)
    );
  }
}
