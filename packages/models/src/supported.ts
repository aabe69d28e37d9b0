import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from '@cnnviz/core';
import { TESTED_KINDS } from './tested-kinds.js';

/**
 * Load-time checks that a model is one cnnviz can differentiate, so that a user learns which layer or op is the
 * problem when loading, not from a TF.js stack trace in the middle of a saliency run.
 */

/** tfjs-layers classes with no gradient with respect to their input, and why. */
const NON_DIFFERENTIABLE_LAYERS: Record<string, string> = {
  Embedding: 'an embedding lookup has no gradient with respect to its integer input',
  CategoryEncoding: 'a category encoding has no gradient with respect to its integer input',
  Hashing: 'hashing has no gradient',
  StringLookup: 'a string lookup has no gradient',
  IntegerLookup: 'an integer lookup has no gradient',
  TextVectorization: 'text vectorisation has no gradient',
  Discretization: 'discretisation has no gradient',
  CenterCrop: "tfjs-layers' CenterCrop runs tf.image.cropAndResize, which has no gradient in TensorFlow.js",
};

/** Graph ops without a gradient to their input in TF.js (control flow, dynamic shapes, selections). */
const NON_DIFFERENTIABLE_OPS = new Set([
  'Enter',
  'Exit',
  'Merge',
  'Switch',
  'NextIteration',
  'LoopCond',
  'If',
  'StatelessIf',
  'While',
  'StatelessWhile',
  'NonMaxSuppressionV2',
  'NonMaxSuppressionV3',
  'NonMaxSuppressionV4',
  'NonMaxSuppressionV5',
  'Where',
  'Unique',
  'UniqueV2',
  'TopKV2',
  'ArgMax',
  'ArgMin',
  'CropAndResize',
  'Multinomial',
  'Bincount',
  'DenseBincount',
  'LookupTableFindV2',
  'StringToHashBucketFast',
]);

/** Why a layer class cannot be used, or undefined when it can. */
export function layerProblem(cls: string): string | undefined {
  return NON_DIFFERENTIABLE_LAYERS[cls];
}

/** Why a graph op cannot be differentiated, or undefined when it can. */
export function opProblem(op: string): string | undefined {
  if (NON_DIFFERENTIABLE_OPS.has(op))
    return `${op} has no gradient with respect to its input in TensorFlow.js`;
  return undefined;
}

type Json = Record<string, unknown>;

/**
 * Checks every layer of a layers-model topology (nested models included): its class must be one tfjs-layers can
 * build and one cnnviz can differentiate. Throws CnnvizError('UNSUPPORTED_LAYER') naming the first that is not.
 */
export function checkLayerClasses(topology: unknown): void {
  const known = tf.serialization.SerializationMap.getMap().classNameMap;
  const root = ((topology as Json | undefined)?.model_config ?? topology) as Json | undefined;
  const visit = (entry: Json | undefined) => {
    if (!entry || typeof entry !== 'object') return;
    const cls = String(entry.class_name);
    const cfg = (entry.config ?? {}) as Json;
    const name = String(entry.name ?? cfg.name ?? '?');
    if (!(cls in known)) {
      throw new CnnvizError(
        'UNSUPPORTED_LAYER',
        `layer '${name}' is a ${cls}, which TensorFlow.js layers cannot build (a custom or Keras-only layer); ` +
          `export the model without it, or convert it as a graph model (tensorflowjs_converter --output_format=tfjs_graph_model)`,
      );
    }
    const problem = layerProblem(cls);
    if (problem) throw new CnnvizError('UNSUPPORTED_LAYER', `layer '${name}' (${cls}): ${problem}`);
    const layers = Array.isArray(cfg) ? cfg : cfg.layers;
    if (Array.isArray(layers)) for (const l of layers) visit(l as Json);
  };
  visit(root);
}

/** TF.js error messages that name an unsupported layer class or op → the CnnvizError that says so. */
export function unsupportedFromTfjs(e: unknown): CnnvizError | undefined {
  const msg = e instanceof Error ? e.message : String(e);
  const op = /Op is not supported: (\S+)/.exec(msg);
  if (op)
    return new CnnvizError('UNSUPPORTED_OP', `graph op ${op[1]} is not supported by TensorFlow.js`, {
      cause: e,
    });
  const layer = /Unknown layer: (\w+)/.exec(msg);
  if (layer)
    return new CnnvizError(
      'UNSUPPORTED_LAYER',
      `layer class ${layer[1]} is unknown to TensorFlow.js layers`,
      {
        cause: e,
      },
    );
  return undefined;
}

/** What cnnviz knows about a layer kind (a tfjs-layers class or a graph op), as `cnnviz layers` shows it. */
export interface LayerSupport {
  /** cnnviz can differentiate through it (load refuses a model where it cannot). */
  differentiable: boolean;
  /** Its output can be requested as a tap (every layer a VisionModel lists can). */
  tappable: boolean;
  /** The conformance suite loads and checks a model with this kind (see docs/supported-layers.md). */
  tested: boolean;
}

/** Support of a layer kind as listed in `VisionModel.layers[i].kind`. */
export function layerSupport(kind: string): LayerSupport {
  const differentiable = layerProblem(kind) === undefined && opProblem(kind) === undefined;
  return { differentiable, tappable: true, tested: TESTED_KINDS.includes(kind) };
}
