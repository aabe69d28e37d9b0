import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { checkNumber, CnnvizError } from '@cnnviz/core';
import { assetBase, isNode, readUrl } from './assets.js';
import { cutArtifacts } from './cut-artifacts.js';

/** The zoo's pretrained backbones and the npm package that holds each one's weights. */
export const zooWeightPackages = {
  mobilenetV2Features: '@cnnviz/zoo-mobilenet-v2',
  inceptionV3Features: '@cnnviz/zoo-inception-v3',
} as const;

/** A zoo model whose weights live in a package of their own. */
export type ZooBackboneName = keyof typeof zooWeightPackages;

/** Where each backbone's shipped model ends, and the input size its layer shapes default to. */
const SHIPPED: Record<ZooBackboneName, { cut: string; size: number; minSize: number }> = {
  mobilenetV2Features: { cut: 'out_relu', size: 224, minSize: 32 },
  inceptionV3Features: { cut: 'mixed10', size: 299, minSize: 75 },
};

let zooBase: URL | undefined;

/**
 * Where the zoo's weight packages are served: `<url>/zoo-mobilenet-v2/weights/model.json` and so on (each
 * package's `weights/` folder, as published). Without it, Node reads them from the installed packages and a
 * browser fetches them from `<asset base>/zoo/` (see `setAssetBase`). `undefined` restores the default.
 */
export function setZooBase(url: string | URL | undefined): void {
  zooBase =
    url === undefined
      ? undefined
      : new URL(String(url).endsWith('/') ? String(url) : `${String(url)}/`, globalThis.location?.href);
}

function notInstalled(name: ZooBackboneName, where?: string): CnnvizError {
  const pkg = zooWeightPackages[name];
  return new CnnvizError(
    'MODEL_NOT_INSTALLED',
    `zoo.${name} needs its weights from the package ${pkg}, which is not installed` +
      (where ? ` (nothing at ${where})` : '') +
      `: run \`npm i ${pkg}\`` +
      (where && !where.startsWith('file:') ? ` and serve its weights/ folder there, or call setZooBase` : ''),
  );
}

function checkName(name: ZooBackboneName): void {
  if (!Object.hasOwn(zooWeightPackages, name)) {
    throw new CnnvizError(
      'BAD_OPTION',
      `unknown zoo backbone ${String(name)}; expected one of ${Object.keys(zooWeightPackages).join(', ')}`,
    );
  }
}

/** The URL of a weight package's `weights/` folder. */
async function weightsFolder(name: ZooBackboneName): Promise<URL> {
  const pkg = zooWeightPackages[name];
  const dir = pkg.split('/')[1];
  if (zooBase) return new URL(`${dir}/weights/`, zooBase);
  if (!isNode()) return new URL(`zoo/${dir}/weights/`, assetBase());
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  let manifest: string;
  try {
    // Resolved from this package, as `import` would: an optional peer sits beside @cnnviz/models.
    manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
  } catch (e) {
    if ((e as { code?: string }).code === 'MODULE_NOT_FOUND') throw notInstalled(name);
    throw new CnnvizError('MODEL_LOAD', `cannot resolve ${pkg}: ${(e as Error).message}`, { cause: e });
  }
  return new URL('weights/', pathToFileURL(manifest));
}

/**
 * The model artifacts of a zoo backbone as its weight package ships them: a Keras LayersModel cut after its
 * last feature layer, for the nominal input size, with the weights (uint8-quantised as nsfwjs shipped them)
 * read from the package's binary shards.
 */
export async function zooArtifacts(name: ZooBackboneName): Promise<tf.io.ModelArtifacts> {
  checkName(name);
  const folder = await weightsFolder(name);
  const jsonUrl = new URL('model.json', folder);
  const bytes = await readUrl(jsonUrl, `${zooWeightPackages[name]} model`, () =>
    notInstalled(name, jsonUrl.href),
  );
  let json: tf.io.ModelJSON;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes)) as tf.io.ModelJSON;
  } catch (e) {
    throw new CnnvizError('MODEL_LOAD', `${jsonUrl.href} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const paths = json.weightsManifest.flatMap((g) => g.paths);
  const shards = await Promise.all(
    paths.map((p) => readUrl(new URL(p, folder), `${zooWeightPackages[name]} weight shard`)),
  );
  return {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: tf.io.CompositeArrayBuffer.join(
      shards.map((s) => s.buffer.slice(s.byteOffset, s.byteOffset + s.byteLength) as ArrayBuffer),
    ),
    format: 'layers-model',
  };
}

/** Options of `zooLayersModel`. */
export interface ZooLayersModelOptions {
  /** Square input size the model is built for (default: the backbone's nominal 224 or 299). */
  inputSize?: number;
  /** Layer after which the model ends (default: the last one shipped, out_relu or mixed10). */
  cut?: string;
}

/**
 * A zoo backbone as a plain tf.LayersModel (tfjs-layers' own execution: BatchNorm as such, fused convs),
 * e.g. to compare with stock TF.js. The VisionModels of `zoo` run the same weights through cnnviz.
 */
export async function zooLayersModel(
  name: ZooBackboneName,
  options: ZooLayersModelOptions = {},
): Promise<tfl.LayersModel> {
  checkName(name);
  const shipped = SHIPPED[name];
  const size = options.inputSize ?? shipped.size;
  checkNumber(size, 'inputSize', { min: shipped.minSize, max: 2048, integer: true });
  const art = cutArtifacts(await zooArtifacts(name), options.cut ?? shipped.cut, size);
  try {
    return await tfl.loadLayersModel(tf.io.fromMemory(art));
  } catch (e) {
    throw new CnnvizError('MODEL_LOAD', `cannot build zoo.${name}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * A zoo backbone as a tf.LayersModel, named as nsfwjs names it, cut after `cut` for `[size, size, 3]` inputs.
 * @deprecated Use `zooLayersModel('mobilenetV2Features' | 'inceptionV3Features', { cut, inputSize })`; the
 * weights now come from @cnnviz/zoo-mobilenet-v2 and @cnnviz/zoo-inception-v3, not from nsfwjs.
 */
export async function loadNsfwjsBackbone(
  name: 'mobilenet_v2' | 'inception_v3',
  cut: string,
  size: number,
): Promise<tfl.LayersModel> {
  const zooName: ZooBackboneName = name === 'inception_v3' ? 'inceptionV3Features' : 'mobilenetV2Features';
  return zooLayersModel(zooName, { cut, inputSize: size });
}
