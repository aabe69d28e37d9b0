// Writes a TF.js LayersModel as graph.json (Keras layer classes, snake_case configs, inbound layer names) plus
// weights.bin (float32, every layer's weights in order), for bench/src/keras_torch.py to run the same model in PyTorch.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';

interface KerasLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown> & { name: string };
  inbound_nodes?: [string, number, number, unknown][][];
}

export interface ExportedLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
  inputs: string[];
  weights: { shape: number[]; offset: number }[];
}

/** Exports `model` into `dir` (graph.json + weights.bin). Functional and Sequential models. */
export async function exportKerasGraph(model: tfl.LayersModel, dir: string): Promise<void> {
  const topo = model.toJSON(undefined, false) as unknown as {
    class_name: string;
    config: { layers: KerasLayer[] } | KerasLayer[];
  };
  const list = Array.isArray(topo.config) ? topo.config : topo.config.layers;
  const sequential = topo.class_name === 'Sequential';
  const layers: ExportedLayer[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  if (sequential)
    layers.push({ name: 'input', className: 'InputLayer', config: {}, inputs: [], weights: [] });
  for (const [i, l] of list.entries()) {
    const name = l.config.name;
    const inputs = sequential
      ? [i === 0 ? 'input' : list[i - 1].config.name]
      : (l.inbound_nodes?.[0] ?? []).map((n) => n[0]);
    const weights = [];
    for (const w of model.getLayer(name).getWeights()) {
      const data = (await w.data()) as Float32Array;
      weights.push({ shape: w.shape, offset });
      chunks.push(data);
      offset += data.length;
    }
    layers.push({ name, className: l.class_name, config: l.config, inputs, weights });
  }
  const blob = new Float32Array(offset);
  let at = 0;
  for (const c of chunks) {
    blob.set(c, at);
    at += c.length;
  }
  writeFileSync(join(dir, 'graph.json'), JSON.stringify({ layers }));
  writeFileSync(join(dir, 'weights.bin'), Buffer.from(blob.buffer));
}
