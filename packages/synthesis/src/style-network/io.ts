import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { CnnvizError, check } from '@cnnviz/core';
import { registerStyleLayers } from './architecture.js';
import type { StyleNetwork } from './apply.js';

const isNode = (): boolean =>
  typeof process !== 'undefined' &&
  typeof (process as { versions?: { node?: string } }).versions?.node === 'string';

// Hidden from bundlers: browser builds never pull in node:fs.
const nodeImport = (name: string): Promise<any> => import(/* @vite-ignore */ name);

/**
 * A tf.io handler that saves to and loads from a directory in Node (`model.json` +
 * `weights.bin`, the layout `tf.loadLayersModel` reads over HTTP). tfjs-core has no file
 * handler without tfjs-node, which does not install offline.
 */
export function nodeFileHandler(dir: string): tf.io.IOHandler {
  const paths = async () => {
    const path = await nodeImport('node:path');
    const base = dir.endsWith('.json') ? path.dirname(dir) : dir;
    return {
      base,
      json: dir.endsWith('.json') ? dir : path.join(base, 'model.json'),
      join: path.join as (...p: string[]) => string,
    };
  };
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      const fs = await nodeImport('node:fs/promises');
      const { base, json, join } = await paths();
      await fs.mkdir(base, { recursive: true });
      const weightData =
        artifacts.weightData === undefined
          ? new ArrayBuffer(0)
          : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: 'cnnviz',
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      };
      // Write to temporary names and rename, so a failure never leaves a half-written model.
      await fs.writeFile(join(base, 'weights.bin.tmp'), new Uint8Array(weightData));
      await fs.writeFile(`${json}.tmp`, JSON.stringify(modelJson));
      await fs.rename(join(base, 'weights.bin.tmp'), join(base, 'weights.bin'));
      await fs.rename(`${json}.tmp`, json);
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weightData.byteLength,
        },
      };
    },
    async load(): Promise<tf.io.ModelArtifacts> {
      const fs = await nodeImport('node:fs/promises');
      const { base, json, join } = await paths();
      const model = JSON.parse(await fs.readFile(json, 'utf8'));
      const specs: tf.io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of model.weightsManifest as tf.io.WeightsManifestConfig) {
        specs.push(...group.weights);
        for (const p of group.paths) {
          const b: Uint8Array = await fs.readFile(join(base, p));
          buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
        }
      }
      return {
        modelTopology: model.modelTopology,
        format: model.format,
        generatedBy: model.generatedBy,
        convertedBy: model.convertedBy,
        weightSpecs: specs,
        weightData: tf.io.CompositeArrayBuffer.join(buffers),
      };
    },
  };
}

/** Wraps a LayersModel as a StyleNetwork. */
export function asStyleNetwork(model: tfl.LayersModel): StyleNetwork {
  return { model, dispose: () => model.dispose() };
}

/** Saves a style network: to a directory path in Node, or through any tf.io handler / URL scheme (e.g. 'indexeddb://x'). */
export async function saveStyleNetwork(
  net: StyleNetwork,
  destination: string | tf.io.IOHandler,
): Promise<tf.io.SaveResult> {
  const handler =
    typeof destination === 'string' && isNode() && !destination.includes('://')
      ? nodeFileHandler(destination)
      : destination;
  try {
    return await net.model.save(handler);
  } catch (e) {
    throw new CnnvizError('IO', `could not save the style network: ${(e as Error).message}`, { cause: e });
  }
}

/** Loads a style network saved by `saveStyleNetwork`: a directory or model.json path in Node, a URL, or a tf.io handler. */
export async function loadStyleNetwork(source: string | tf.io.IOHandler): Promise<StyleNetwork> {
  check(
    typeof source === 'string' || (typeof source === 'object' && source !== null),
    'BAD_OPTION',
    'source must be a path, URL or tf.io handler',
  );
  registerStyleLayers();
  const handler =
    typeof source === 'string' && isNode() && !/^https?:\/\//.test(source) ? nodeFileHandler(source) : source;
  try {
    return asStyleNetwork(await tfl.loadLayersModel(handler));
  } catch (e) {
    throw new CnnvizError(
      'MODEL_LOAD',
      `could not load a style network from ${typeof source === 'string' ? source : 'the handler'}: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

/** Style networks trained in this repository (bench/src/train-style-network.ts in the repository) and shipped with the package. */
export const BUNDLED_STYLES = { starry_night: 'style-starry-night', scream: 'style-scream' } as const;
export type BundledStyle = keyof typeof BUNDLED_STYLES;

/**
 * Loads a style network that ships with @cnnviz/synthesis: `'starry_night'` (Van Gogh's The
 * Starry Night) or `'scream'` (Munch's The Scream), both paintings in the public domain. Node reads the package's assets folder; browsers fetch it
 * relative to the module (bundlers that copy `new URL(..., import.meta.url)` assets).
 */
export async function loadBundledStyleNetwork(name: BundledStyle): Promise<StyleNetwork> {
  check(
    name in BUNDLED_STYLES,
    'BAD_OPTION',
    () => `unknown bundled style "${String(name)}"; available: ${Object.keys(BUNDLED_STYLES).join(', ')}`,
  );
  const url = new URL(`../assets/${BUNDLED_STYLES[name]}/model.json`, import.meta.url);
  if (isNode()) {
    const { fileURLToPath } = await nodeImport('node:url');
    const { existsSync } = await nodeImport('node:fs');
    let path: string = fileURLToPath(url);
    // From src/style-network/ the assets are two levels up, from dist/ one.
    if (!existsSync(path))
      path = fileURLToPath(new URL(`../../assets/${BUNDLED_STYLES[name]}/model.json`, import.meta.url));
    return loadStyleNetwork(path);
  }
  return loadStyleNetwork(tf.io.http(url.href));
}
