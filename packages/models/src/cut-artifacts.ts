import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from '@cnnviz/core';

interface KerasLayerJson {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  inbound_nodes: [string, number, number, unknown][][];
}

interface KerasTopology {
  model_config: {
    class_name: string;
    config: { layers: KerasLayerJson[]; input_layers: unknown; output_layers: unknown };
  };
  [k: string]: unknown;
}

const QUANT_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };

/** Bytes of one weight in the shards: quantised weights take their quantised width. */
export function weightBytes(spec: tf.io.WeightsManifestEntry): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization?.dtype;
  return n * (q ? QUANT_BYTES[q] : DTYPE_BYTES[spec.dtype]);
}

/**
 * Artifacts of a Keras functional LayersModel cut after layer `cut` and rebuilt for `[size, size, 3]`
 * inputs: the layers after the cut (e.g. a classifier head) and their weights are dropped, so they are
 * never loaded. The kept weights keep their bytes and quantisation.
 */
export function cutArtifacts(art: tf.io.ModelArtifacts, cut: string, size: number): tf.io.ModelArtifacts {
  const topo = JSON.parse(JSON.stringify(art.modelTopology)) as KerasTopology;
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
    const n = weightBytes(spec);
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
