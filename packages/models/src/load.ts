import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfconv from '@tensorflow/tfjs-converter';
import { check, CnnvizError, type InputRange, type VisionModel } from '@cnnviz/core';
import { fromGraphModel } from './graph-model.js';
import { normalizeKeras3, restoreDepthMultipliers } from './keras3.js';
import { fromLayersModel, type ModelOptions } from './layers-model.js';
import { checkLayerClasses, unsupportedFromTfjs } from './supported.js';
import {
  DEFAULT_MAX_MODEL_JSON_BYTES,
  checkManifest,
  httpHandler,
  loadError,
  type ModelFileLimits,
} from './model-files.js';

/** Options of `loadModel`: what `fromLayersModel`/`fromGraphModel` take, defaults from model.json metadata, and size limits. */
export type LoadModelOptions = ModelOptions & ModelFileLimits;

function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

function isUrl(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !s.startsWith('file://');
}

/**
 * A tf.io.IOHandler that reads a model.json and its weight files from the local file system
 * (Node only). `node:fs` is imported on first use, so the package still loads in browsers.
 * model.json is refused over `maxModelJsonBytes`; its manifest is checked (shapes, dtypes) and
 * every weight path must resolve, symbolic links followed, inside model.json's folder, with the
 * sizes the manifest describes, before a weight byte is read. Errors are
 * CnnvizError('MODEL_LOAD') naming the file that failed.
 */
export function fileHandler(modelJsonPath: string, limits: ModelFileLimits = {}): tf.io.IOHandler {
  const path = modelJsonPath.startsWith('file://')
    ? decodeURIComponent(new URL(modelJsonPath).pathname)
    : modelJsonPath;
  const maxJson = limits.maxModelJsonBytes ?? DEFAULT_MAX_MODEL_JSON_BYTES;
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const fs = await import('node:fs/promises');
      const { dirname, isAbsolute, relative, resolve } = await import('node:path');
      let text: string;
      try {
        const st = await fs.stat(path);
        if (st.size > maxJson)
          throw loadError(
            path,
            `model.json is ${st.size} bytes, over the limit of ${maxJson} (option maxModelJsonBytes)`,
          );
        text = await fs.readFile(path, 'utf8');
      } catch (e) {
        if (CnnvizError.isInstance(e)) throw e;
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
      const groups = checkManifest(json.weightsManifest, path);
      const dir = dirname(path);
      let realDir: string;
      try {
        realDir = await fs.realpath(dir);
      } catch (e) {
        throw loadError(path, 'cannot resolve its folder', e);
      }
      const inside = (root: string, p: string) => {
        const r = relative(root, p);
        return r !== '' && !r.startsWith('..') && !isAbsolute(r);
      };
      // Every path resolved and sized before anything is read.
      const files: string[][] = [];
      for (const [g, group] of groups.entries()) {
        const real: string[] = [];
        let have = 0;
        for (const p of group.paths) {
          const file = resolve(dir, p);
          if (!inside(dir, file))
            throw loadError(path, `weight path ${JSON.stringify(p)} leaves the model's folder ${dir}`);
          let target: string;
          let size: number;
          try {
            target = await fs.realpath(file);
            const st = await fs.stat(target);
            if (!st.isFile()) throw new Error('not a file');
            size = st.size;
          } catch (e) {
            throw loadError(path, `cannot read weight file ${file}`, e);
          }
          if (!inside(realDir, target))
            throw loadError(path, `weight file ${file} is a link to ${target}, outside the model's folder`);
          real.push(target);
          have += size;
        }
        if (group.bytes !== undefined && have !== group.bytes)
          throw loadError(
            path,
            `the weight files of group ${g} hold ${have} bytes but the manifest describes ${group.bytes} (truncated or wrong file?)`,
          );
        files.push(real);
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const [g, group] of manifest.entries()) {
          for (const file of files[g]) {
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

/** Weight data shorter or longer than the specs say, or malformed specs → MODEL_LOAD (tfjs would fail obscurely later). */
function checkWeightBytes(art: tf.io.ModelArtifacts, where: string): void {
  if (!art.weightSpecs || art.weightData === undefined) return;
  const [{ bytes: want }] = checkManifest([{ paths: ['weights'], weights: art.weightSpecs }], where);
  if (want === undefined) return; // strings: variable length, leave it to tfjs
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

/** The topology with every `*_initializer` set to Zeros: the loaded weights overwrite them anyway. */
function zeroInitializers(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(zeroInitializers);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] =
      k.endsWith('_initializer') && x !== null ? { class_name: 'Zeros', config: {} } : zeroInitializers(x);
  }
  return out;
}

/**
 * tfl.loadLayersModel, split in two so a failure frees everything: the model is built from its
 * topology (zero-initialised: cheap), then the weights are decoded here and set; tfl's own path
 * leaks the decoded weights when they do not fit the model (a wrong shape or name in the file).
 */
async function buildLayersModel(art: tf.io.ModelArtifacts): Promise<tfl.LayersModel> {
  const { weightData, weightSpecs, ...rest } = art;
  const m = await tfl.loadLayersModel(
    tf.io.fromMemory({ ...rest, modelTopology: zeroInitializers(art.modelTopology) as object }),
  );
  if (weightData === undefined || !weightSpecs) return m;
  let named: tf.NamedTensorMap = {};
  try {
    // tidy: a decode that fails half-way (a string weight) frees what it decoded so far.
    named = tf.tidy(() => tf.io.decodeWeights(weightData, weightSpecs));
    const model: tf.NamedTensorMap = {};
    for (const spec of weightSpecs) if (spec.group !== 'optimizer') model[spec.name] = named[spec.name];
    m.loadWeights(model, true);
    return m;
  } catch (e) {
    m.dispose();
    throw e;
  } finally {
    tf.dispose(Object.values(named));
  }
}

/**
 * A model that failed half-way holds tensors nobody can reach: the built model's weights, or the
 * variables of layers built before a bad one. Only variables named after one of this topology's
 * layers are freed, so a model another call is loading at the same time keeps its own.
 */
function freePartialModel(
  built: { dispose(): unknown } | undefined,
  before: Set<string>,
  topo: object,
): void {
  try {
    built?.dispose();
  } catch {
    /* a half-built model may not dispose cleanly; its variables are freed below */
  }
  const names = new Set<string>();
  JSON.stringify(topo, (key, value: unknown) => {
    if (key === 'name' && (typeof value === 'string' || typeof value === 'number')) names.add(String(value));
    return value;
  });
  for (const [name, v] of Object.entries(tf.engine().registeredVariables)) {
    if (!before.has(name) && !v.isDisposed && names.has(name.split('/')[0].replace(/_\d+$/, ''))) v.dispose();
  }
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
        ? httpHandler(source, options)
        : fileHandler(source, options);
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
  const variablesBefore = new Set(Object.keys(tf.engine().registeredVariables));
  let built: { dispose(): unknown } | undefined;
  try {
    if (isGraph) {
      const g = new tfconv.GraphModel(tf.io.fromMemory(art));
      built = g;
      await g.load();
      return fromGraphModel(g, opts);
    }
    const m = await buildLayersModel(art);
    built = m;
    return fromLayersModel(m, opts);
  } catch (e) {
    freePartialModel(built, variablesBefore, topo);
    if (CnnvizError.isInstance(e) && e.code !== 'MODEL_LOAD') throw e;
    if (CnnvizError.isInstance(e)) throw e;
    throw (
      unsupportedFromTfjs(e) ??
      loadError(where, `building the ${isGraph ? 'graph' : 'layers'} model failed`, e)
    );
  }
}
