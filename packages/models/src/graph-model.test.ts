import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel } from '@tensorflow/tfjs-converter';
import { channel, createRng, objectiveGradient, type VisionModel } from '@cnnviz/core';
import { fromGraphModel } from './graph-model.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function uniform(n: number, seed: number, lo = -1, hi = 1): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * rng());
}

/** x -> _FusedConv2D(BiasAdd, Relu) "conv1" -> Conv2D 1x1 "conv2" -> Relu6 "out", as the TF converter emits it. */
async function tinyGraph(): Promise<VisionModel> {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const ints = (v: number[]) => ({ list: { i: v.map(String) } });
  const constNode = (name: string, dims: number[]) => ({
    name,
    op: 'Const',
    attr: {
      dtype: { type: 'DT_FLOAT' },
      value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: dims.map((d) => ({ size: String(d) })) } } },
    },
  });
  const conv = { T: { type: 'DT_FLOAT' }, strides: ints([1, 1, 1, 1]), dilations: ints([1, 1, 1, 1]) };
  const graph = {
    node: [
      {
        name: 'x',
        op: 'Placeholder',
        attr: {
          dtype: { type: 'DT_FLOAT' },
          shape: { shape: { dim: [{ size: '-1' }, { size: '5' }, { size: '5' }, { size: '2' }] } },
        },
      },
      constNode('w1', [3, 3, 2, 4]),
      constNode('b1', [4]),
      constNode('w2', [1, 1, 4, 3]),
      {
        name: 'conv1',
        op: '_FusedConv2D',
        input: ['x', 'w1', 'b1'],
        attr: {
          ...conv,
          padding: { s: b64('SAME') },
          data_format: { s: b64('NHWC') },
          fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } },
          num_args: { i: '1' },
          epsilon: { f: 0 },
        },
      },
      {
        name: 'conv2',
        op: 'Conv2D',
        input: ['conv1', 'w2'],
        attr: { ...conv, padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') } },
      },
      { name: 'out', op: 'Relu6', input: ['conv2'], attr: { T: { type: 'DT_FLOAT' } } },
    ],
    versions: { producer: 1 },
  };
  const weightData = new Float32Array([...uniform(72, 1), ...uniform(4, 2, -0.2, 0.2), ...uniform(12, 3)])
    .buffer;
  const model = await loadGraphModel(
    tf.io.fromMemory({
      modelTopology: graph,
      format: 'graph-model',
      weightSpecs: [
        { name: 'w1', shape: [3, 3, 2, 4], dtype: 'float32' },
        { name: 'b1', shape: [4], dtype: 'float32' },
        { name: 'w2', shape: [1, 1, 4, 3], dtype: 'float32' },
      ],
      weightData,
    }),
  );
  return fromGraphModel(model);
}

/** Names of the kernels `fn` runs (tf.profile returns one shared object, so copy them out). */
async function kernelsOf(fn: () => void): Promise<string[]> {
  return (await tf.profile(fn)).kernels.map((k) => k.name);
}

describe('fromGraphModel forward options', () => {
  it('{ logits: false } executes only the taps: same activations, no logits, later nodes not run, no leaks', async () => {
    const vm = await tinyGraph();
    const x = tf.tensor4d(uniform(100, 4, 0, 2), [2, 5, 5, 2]);
    for (const taps of [['conv1'], ['out'], ['conv1', 'out', 'conv1']]) {
      const before = tf.memory().numTensors;
      const full = await kernelsOf(() => {
        const o = vm.forward(x, taps);
        tf.dispose([o.logits, ...Object.values(o.activations)]);
      });
      const early = await kernelsOf(() =>
        tf.dispose(Object.values(vm.forward(x, taps, { logits: false }).activations)),
      );
      expect(tf.memory().numTensors).toBe(before);
      expect(full).toContain('Relu6');
      if (taps.includes('out')) expect(early).toContain('Relu6');
      else {
        expect(early).not.toContain('Relu6');
        // conv1 runs unfused through the input-only path (one Conv2D); conv2's Conv2D is skipped.
        const convs = (ks: string[]) => ks.filter((k) => k === 'Conv2D').length;
        expect([convs(early), convs(full)]).toEqual([1, 2]);
        expect(early.length).toBeLessThan(full.length);
      }
      const out = vm.forward(x, taps);
      const cut = vm.forward(x, taps, { logits: false });
      expect('logits' in cut).toBe(false);
      for (const t of taps) {
        expect(cut.activations[t].shape).toEqual(out.activations[t].shape);
        expect(cut.activations[t].dataSync()).toEqual(out.activations[t].dataSync());
      }
      tf.dispose([out.logits, ...Object.values(out.activations), ...Object.values(cut.activations)]);
      expect(tf.memory().numTensors).toBe(before);
    }
    const before = tf.memory().numTensors;
    const none = await kernelsOf(() =>
      expect(vm.forward(x, [], { logits: false })).toEqual({ activations: {} }),
    );
    expect(none).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    vm.dispose!();
  });

  it('objectiveGradient of channel() equals the one through a forward that ignores the option', async () => {
    const vm = await tinyGraph();
    const ignoring: VisionModel = {
      ...vm,
      forward: (x: tf.Tensor4D, taps?: string[]) => vm.forward(x, taps),
    };
    const pixels = tf.tensor4d(uniform(100, 5, 0, 1), [2, 5, 5, 2]);
    const before = tf.memory().numTensors;
    const a = objectiveGradient(vm, pixels, channel('conv1', 2));
    const b = objectiveGradient(ignoring, pixels, channel('conv1', 2));
    expect(a.values.dataSync()).toEqual(b.values.dataSync());
    expect(a.grad.dataSync()).toEqual(b.grad.dataSync());
    expect(tf.tidy(() => tf.max(tf.abs(a.grad)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([a.values, a.grad, b.values, b.grad]);
    expect(tf.memory().numTensors).toBe(before);
    pixels.dispose();
    vm.dispose!();
  });
});
