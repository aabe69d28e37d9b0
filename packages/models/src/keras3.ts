import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from '@cnnviz/core';

/**
 * Keras 3 model.json files (TensorFlow >= 2.16 + tensorflowjs, tfjs issues #8328 and #8494) rewritten into the
 * Keras 2 form tfjs-layers reads. What Keras 3 changed, from keras/src/models/functional.py and
 * keras/src/saving/serialization_lib.py:
 * - InputLayer: `batch_shape` instead of `batch_input_shape`;
 * - inbound nodes: `{args, kwargs}` holding `__keras_tensor__` objects with `keras_history: [layer, node, tensor]`
 *   instead of `[[layer, node, tensor, kwargs], ...]`; a single model input/output is a flat `[layer, 0, 0]`;
 * - `dtype` is a DTypePolicy object, objects carry `module`/`registered_name`/`build_config`, functions (activations)
 *   may be `{class_name: 'function', config: 'relu'}`;
 * - renamed fields and classes (LeakyReLU `negative_slope`, activation `silu`, DepthwiseConv2D's weight `kernel`);
 * - weight names: `sequential/conv2d/kernel` (scoped by the model), or `layers/conv2d/vars/0` from `.keras` files.
 * Fields that only matter for training (initializers, regularizers, constraints) are dropped: weights are loaded.
 */

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** True when a layers-model topology is in Keras 3's format (needs `normalizeKeras3`). */
export function isKeras3(topology: unknown): boolean {
  if (!isObj(topology)) return false;
  if (/^3\./.test(String(topology.keras_version ?? ''))) return true;
  const text = JSON.stringify(topology.model_config ?? topology);
  return /"batch_shape"|"keras_history"|"DTypePolicy"/.test(text);
}

/** Inference-time no-ops of Keras 3 that tfjs-layers lacks: built as a linear Activation (identity). */
const IDENTITY_CLASSES = new Set([
  'Identity',
  'RandomFlip',
  'RandomRotation',
  'RandomZoom',
  'RandomContrast',
  'RandomBrightness',
  'RandomTranslation',
  'ActivityRegularization',
]);
/** Keras 3 dropouts tfjs-layers lacks: identity at inference like Dropout. */
const DROPOUT_CLASSES = new Set(['SpatialDropout2D', 'SpatialDropout3D']);

const ACTIVATION_NAMES: Record<string, string> = { silu: 'swish' };
/** Keras 3 activations whose tfjs namesake computes something else, or that tfjs lacks. */
const ACTIVATION_UNSUPPORTED: Record<string, string> = {
  hard_sigmoid: "Keras 3's hard_sigmoid is relu6(x+3)/6, tfjs's is clip(0.2x+0.5, 0, 1)",
  hard_silu: 'tfjs-layers has no hard_silu',
  hard_swish: 'tfjs-layers has no hard_swish',
  leaky_relu: 'tfjs-layers has no leaky_relu activation (use a LeakyReLU layer)',
  exponential: 'tfjs-layers has no exponential activation',
};

function unsupported(layer: string, cls: string, why: string): CnnvizError {
  return new CnnvizError('UNSUPPORTED_LAYER', `layer '${layer}' (${cls}): ${why}`);
}

function dtypeName(d: unknown): unknown {
  if (!isObj(d)) return d;
  const name = String((d.config as Json | undefined)?.name ?? 'float32');
  // Mixed-precision policies compute in float16 in Keras; tfjs layers run float32 (weights are stored as float32).
  return name.startsWith('mixed_') ? 'float32' : name;
}

function activationName(layer: string, cls: string, a: unknown): unknown {
  const name = isObj(a) && a.class_name === 'function' ? String(a.config) : a;
  if (typeof name !== 'string') return name;
  if (ACTIVATION_UNSUPPORTED[name]) throw unsupported(layer, cls, ACTIVATION_UNSUPPORTED[name]);
  return ACTIVATION_NAMES[name] ?? name;
}

/** Keras 3's `{args, kwargs}` node → Keras 2's `[[layer, node, tensor, kwargs], ...]`. */
function legacyNode(node: unknown): unknown {
  if (!isObj(node) || !('args' in node)) return node;
  const refs: unknown[][] = [];
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isObj(v) && v.class_name === '__keras_tensor__') {
      const h = (v.config as Json | undefined)?.keras_history as unknown[] | undefined;
      if (Array.isArray(h)) refs.push([h[0], h[1], h[2], {}]);
    }
  };
  visit(node.args);
  return refs;
}

/** A flat `[layer, node, tensor]` (one input/output) → `[[layer, node, tensor]]`. */
function nested(refs: unknown): unknown {
  return Array.isArray(refs) && typeof refs[0] === 'string' ? [refs] : refs;
}

function normalizeConfig(layer: string, cls: string, cfg: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (/_(initializer|regularizer|constraint)$/.test(k)) continue;
    if (['build_config', 'compile_config', 'synchronized', 'optional', 'ragged'].includes(k)) continue;
    if ((k === 'lora_rank' || k === 'quantization_config') && v == null) continue;
    out[k] = v;
  }
  if ('dtype' in out) out.dtype = dtypeName(out.dtype);
  if ('activation' in out) out.activation = activationName(layer, cls, out.activation);
  if ('batch_shape' in out) {
    out.batch_input_shape = out.batch_shape;
    delete out.batch_shape;
  }
  if ('groups' in out) {
    if (Number(out.groups) !== 1) throw unsupported(layer, cls, `grouped convolution (groups=${out.groups})`);
    delete out.groups;
  }
  if ('lora_rank' in out) throw unsupported(layer, cls, 'LoRA-adapted layers are not supported');
  if (out.sparse === true) throw unsupported(layer, cls, 'sparse inputs are not supported');
  delete out.sparse;
  return out;
}

function normalizeLayer(entry: Json): Json {
  const cfg = (isObj(entry.config) ? entry.config : {}) as Json;
  const name = String(entry.name ?? cfg.name ?? '?');
  let cls = String(entry.class_name);
  let config: Json;
  if (cls === 'Sequential' || cls === 'Functional' || cls === 'Model') {
    config = normalizeModelConfig(cfg);
  } else {
    config = normalizeConfig(name, cls, cfg);
    if (IDENTITY_CLASSES.has(cls)) {
      cls = 'Activation';
      config = {
        name: config.name,
        trainable: false,
        dtype: config.dtype ?? 'float32',
        activation: 'linear',
      };
    } else if (DROPOUT_CLASSES.has(cls)) {
      cls = 'Dropout';
      config = { name: config.name, trainable: false, dtype: config.dtype ?? 'float32', rate: config.rate };
    } else if (cls === 'LeakyReLU' && 'negative_slope' in config) {
      config.alpha = config.negative_slope;
      delete config.negative_slope;
    } else if (cls === 'ReLU') {
      // tfjs's ReLU knows only max_value: a negative slope is a LeakyReLU, a threshold is not supported.
      const slope = Number(config.negative_slope ?? 0);
      if (Number(config.threshold ?? 0) !== 0) throw unsupported(name, cls, 'ReLU with a threshold');
      if (slope !== 0) {
        if (config.max_value != null)
          throw unsupported(name, cls, 'ReLU with both negative_slope and max_value');
        cls = 'LeakyReLU';
        config = { name: config.name, trainable: config.trainable, dtype: config.dtype, alpha: slope };
      }
      delete config.negative_slope;
      delete config.threshold;
    }
  }
  const out: Json = { class_name: cls, config };
  if ('name' in entry) out.name = entry.name;
  if (Array.isArray(entry.inbound_nodes)) out.inbound_nodes = entry.inbound_nodes.map(legacyNode);
  return out;
}

function normalizeModelConfig(cfg: Json): Json {
  const out: Json = { ...cfg };
  delete out.build_input_shape;
  if ('dtype' in out) out.dtype = dtypeName(out.dtype);
  if (Array.isArray(cfg.layers)) out.layers = cfg.layers.map((l) => normalizeLayer(l as Json));
  if ('input_layers' in cfg) out.input_layers = nested(cfg.input_layers);
  if ('output_layers' in cfg) out.output_layers = nested(cfg.output_layers);
  return out;
}

/** The layers of a (normalised) topology, nested models included: name → [class, config]. */
function layerTable(modelConfig: Json): Map<string, { cls: string; cfg: Json }> {
  const table = new Map<string, { cls: string; cfg: Json }>();
  const visit = (layers: unknown) => {
    if (!Array.isArray(layers)) return;
    for (const l of layers as Json[]) {
      const cfg = (l.config ?? {}) as Json;
      table.set(String(l.name ?? cfg.name), { cls: String(l.class_name), cfg });
      visit(cfg.layers);
    }
  };
  visit((modelConfig.config as Json | undefined)?.layers);
  return table;
}

/** Weight names of a tfjs-layers layer in creation order (the order of Keras 3's `vars/<i>`). */
function weightOrder(cls: string, cfg: Json): string[] {
  const bias = cfg.use_bias === false ? [] : ['bias'];
  switch (cls) {
    case 'Dense':
    case 'Conv1D':
    case 'Conv2D':
    case 'Conv3D':
    case 'Conv2DTranspose':
    case 'Conv3DTranspose':
      return ['kernel', ...bias];
    case 'DepthwiseConv2D':
      return ['depthwise_kernel', ...bias];
    case 'SeparableConv1D':
    case 'SeparableConv2D':
      return ['depthwise_kernel', 'pointwise_kernel', ...bias];
    case 'BatchNormalization':
      return [
        ...(cfg.scale === false ? [] : ['gamma']),
        ...(cfg.center === false ? [] : ['beta']),
        'moving_mean',
        'moving_variance',
      ];
    case 'LayerNormalization':
      return [...(cfg.scale === false ? [] : ['gamma']), ...(cfg.center === false ? [] : ['beta'])];
    case 'PReLU':
      return ['alpha'];
    case 'Embedding':
      return ['embeddings'];
    default:
      return [];
  }
}

/** A Keras 3 weight name → the `layer/weight` name tfjs-layers gives that variable. */
function weightName(name: string, layers: Map<string, { cls: string; cfg: Json }>): string {
  const parts = name.replace(/:\d+$/, '').split('/');
  const v = parts.lastIndexOf('vars');
  if (v > 0 && v === parts.length - 2) {
    const layer = parts[v - 1];
    const info = layers.get(layer);
    const short = info ? weightOrder(info.cls, info.cfg)[Number(parts[v + 1])] : undefined;
    return short ? `${layer}/${short}` : name;
  }
  // `model/…/layer/var`: the last segment whose parent names a layer.
  for (let i = parts.length - 2; i >= 0; i--) {
    const info = layers.get(parts[i]);
    if (!info) continue;
    let short = parts.slice(i + 1).join('/');
    if (info.cls === 'DepthwiseConv2D' && short === 'kernel') short = 'depthwise_kernel';
    return `${parts[i]}/${short}`;
  }
  return name;
}

/**
 * Keras 3 artifacts → artifacts tfjs-layers loads (topology rewritten, weight names mapped); anything else is
 * returned unchanged. Throws CnnvizError('UNSUPPORTED_LAYER') naming a layer whose Keras 3 meaning tfjs cannot
 * reproduce (grouped convolutions, Keras 3's hard_sigmoid, ...).
 */
export function normalizeKeras3(art: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  const topo = art.modelTopology as Json | undefined;
  if (!isKeras3(topo)) return art;
  const modelConfig = (topo!.model_config ?? topo) as Json;
  const normalized: Json = {
    class_name: modelConfig.class_name,
    config: normalizeModelConfig((modelConfig.config ?? {}) as Json),
  };
  const layers = layerTable(normalized);
  const topology: Json =
    topo!.model_config !== undefined ? { ...topo!, model_config: normalized } : normalized;
  return {
    ...art,
    modelTopology: topology,
    weightSpecs: art.weightSpecs?.map((s) => ({ ...s, name: weightName(s.name, layers) })),
  };
}

/**
 * tfjs-layers' own SeparableConv2D.getConfig leaves out `depth_multiplier` (4.22), so a model it saved with a
 * multiplier > 1 fails to load ("Shape mismatch"). The manifest's depthwise kernel `[kh, kw, C, m]` says what it was.
 */
export function restoreDepthMultipliers(art: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  const kernels = new Map<string, number[]>();
  for (const s of art.weightSpecs ?? []) {
    const m = /(?:^|\/)([^/]+)\/depthwise_kernel(?::\d+)?$/.exec(s.name);
    if (m) kernels.set(m[1], s.shape);
  }
  if (kernels.size === 0) return art;
  const fix = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(fix);
    if (!isObj(v)) return v;
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) out[k] = fix(x);
    const cfg = out.config as Json | undefined;
    const shape = isObj(cfg) ? kernels.get(String(cfg.name)) : undefined;
    if (String(out.class_name).startsWith('SeparableConv') && shape && cfg!.depth_multiplier == null)
      out.config = { ...cfg, depth_multiplier: shape[3] };
    return out;
  };
  return { ...art, modelTopology: fix(art.modelTopology) as Json };
}
