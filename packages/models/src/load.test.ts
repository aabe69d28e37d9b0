import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfconv from '@tensorflow/tfjs-converter';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { CnnvizError } from '@cnnviz/core';
import { loadModel } from './load.js';
import { fromLayersModel } from './layers-model.js';

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-models-'));

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function smallModel(): tfl.Sequential {
  return tfl.sequential({
    layers: [
      tfl.layers.conv2d({
        name: 'conv',
        inputShape: [6, 6, 3],
        filters: 2,
        kernelSize: 3,
        activation: 'relu',
        kernelInitializer: tfl.initializers.glorotNormal({ seed: 1 }),
      }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({
        name: 'out',
        units: 3,
        activation: 'softmax',
        kernelInitializer: tfl.initializers.glorotNormal({ seed: 2 }),
      }),
    ],
  });
}

/** Writes model.json + weights.bin the way tfjs-node's file:// handler would. */
async function saveTo(model: tfl.LayersModel, sub: string, meta?: object): Promise<string> {
  const folder = join(dir, sub);
  rmSync(folder, { recursive: true, force: true });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(folder, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (art) => {
      const data = tf.io.CompositeArrayBuffer.join(art.weightData!);
      writeFileSync(join(folder, 'weights.bin'), Buffer.from(data));
      writeFileSync(
        join(folder, 'model.json'),
        JSON.stringify({
          format: 'layers-model',
          modelTopology: art.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }],
          userDefinedMetadata: meta,
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(folder, 'model.json');
}

async function expectLoadError(source: string, pattern: RegExp): Promise<void> {
  let err: unknown;
  try {
    await loadModel(source);
  } catch (e) {
    err = e;
  }
  expect(CnnvizError.isInstance(err)).toBe(true);
  expect((err as CnnvizError).code).toBe('MODEL_LOAD');
  expect((err as CnnvizError).message).toMatch(pattern);
}

describe('loadModel', () => {
  it('loads a layers model.json from disk with labels and input range from its metadata', async () => {
    const m = smallModel();
    const path = await saveTo(m, 'ok', { labels: ['a', 'b', 'c'], inputRange: [-1, 1] });
    const before = tf.memory().numTensors;
    const vm = await loadModel(path);
    expect(vm.labels).toEqual(['a', 'b', 'c']);
    expect(vm.inputRange).toEqual([-1, 1]);
    const img = tf.randomUniform([6, 6, 3], 0, 1, 'float32', 3) as tf.Tensor3D;
    const x = vm.preprocess(img);
    const ours = vm.forward(x);
    const ref = fromLayersModel(m).forward(x);
    expect(maxAbsDiff(ours.logits, ref.logits)).toBeLessThan(1e-6);
    // Options override the metadata.
    const vm2 = await loadModel(path, { labels: ['x', 'y', 'z'], inputRange: [0, 1] });
    expect(vm2.labels).toEqual(['x', 'y', 'z']);
    tf.dispose([img, x, ours.logits, ref.logits]);
    vm.dispose!();
    vm2.dispose!();
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('accepts any IOHandler', async () => {
    const m = smallModel();
    let art: tf.io.ModelArtifacts | undefined;
    await m.save(
      tf.io.withSaveHandler(
        async (a) => (
          (art = a),
          { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
        ),
      ),
    );
    const vm = await loadModel(tf.io.fromMemory(art!), { labels: ['a', 'b', 'c'] });
    expect(vm.layers.map((l) => l.name)).toEqual(['conv_input', 'conv', 'flat', 'out']);
    vm.dispose!();
    m.dispose();
  });

  it('a corrupt model.json gives MODEL_LOAD naming the path', async () => {
    const path = join(dir, 'corrupt.json');
    writeFileSync(path, '{"modelTopology": {"class_name": "Sequential", "config": ');
    await expectLoadError(path, /corrupt\.json.*not valid JSON/);
    writeFileSync(path, '{"hello": 1}');
    await expectLoadError(path, /corrupt\.json.*modelTopology/);
    await expectLoadError(join(dir, 'does-not-exist', 'model.json'), /does-not-exist\/model\.json/);
  });

  it('a missing or truncated weight file gives MODEL_LOAD naming the file', async () => {
    const m = smallModel();
    const path = await saveTo(m, 'missing');
    rmSync(join(dir, 'missing', 'weights.bin'));
    await expectLoadError(path, /weight file .*missing\/weights\.bin/);
    const path2 = await saveTo(m, 'short');
    writeFileSync(join(dir, 'short', 'weights.bin'), Buffer.alloc(10));
    await expectLoadError(path2, /short\/model\.json.*10 bytes/);
    m.dispose();
  });

  it('rejects a bad source', async () => {
    await expect(loadModel(42 as unknown as string)).rejects.toMatchObject({ code: 'BAD_INPUT' });
  });
});

/**
 * nsfwjs's MobileNetV2 "mid" model (alpha 1.4; MIT, see fixtures/NOTICE): a real GraphModel from the TF.js
 * converter, with fused convolutions and a softmax output; copied unchanged by scripts/zoo/extract.ts.
 */
async function midArtifacts(): Promise<tf.io.ModelArtifacts> {
  const folder = fileURLToPath(new URL('../fixtures/mobilenet-v2-mid/', import.meta.url));
  const json = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const shards = json.weightsManifest
    .flatMap((g) => g.paths)
    .map((p) => {
      const b = readFileSync(join(folder, p));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    });
  return {
    modelTopology: json.modelTopology,
    format: 'graph-model',
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData: tf.io.CompositeArrayBuffer.join(shards),
  };
}

describe('loadModel / fromGraphModel on a real graph model', () => {
  it('taps nodes by name, strips the softmax, and routes fused convs through the input-only path', async () => {
    const art = await midArtifacts();
    const folder = join(dir, 'graph');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'w.bin'), Buffer.from(tf.io.CompositeArrayBuffer.join(art.weightData!)));
    writeFileSync(
      join(folder, 'model.json'),
      JSON.stringify({
        format: 'graph-model',
        modelTopology: art.modelTopology,
        weightsManifest: [{ paths: ['w.bin'], weights: art.weightSpecs }],
      }),
    );
    const vm = await loadModel(join(folder, 'model.json'));
    const original = await tfconv.loadGraphModel(tf.io.fromMemory(art));

    const tap = vm.layers.find((l) => l.kind === '_FusedConv2D' && /expanded_conv_6\/expand\//.test(l.name))!;
    expect(tap).toBeDefined();
    expect(tap.kernel?.size).toEqual([1, 1]);
    expect(tap.outputShape).toEqual([28, 28, 288]); // alpha 1.4: 6 x 48 channels
    const dw = vm.layers.find(
      (l) => l.kind === 'FusedDepthwiseConv2dNative' && /expanded_conv_6\/depthwise\//.test(l.name),
    )!;
    expect(dw.kernel).toEqual({ size: [3, 3], strides: [2, 2], padding: 'same', dilation: [1, 1] });
    expect(vm.layers.map((l) => l.kind)).toContain('Softmax');

    const x = tf.randomUniform([1, 224, 224, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const out = vm.forward(x, [tap.name]);
    const [probs, refTap] = original.execute(x, [original.outputs[0].name, tap.name]) as tf.Tensor[];
    expect(maxAbsDiff(out.activations[tap.name], refTap)).toBeLessThan(1e-4);
    expect(out.logits.shape).toEqual([1, 5]);
    expect(tf.tidy(() => maxAbsDiff(tf.logSoftmax(out.logits), tf.log(probs)))).toBeLessThan(1e-3);
    tf.dispose([out.logits, out.activations[tap.name], probs, refTap]);
    expect(tf.memory().numTensors).toBe(before);

    const info = await tf.profile(() => {
      const g = tf.grad((inp: tf.Tensor) => {
        const o = vm.forward(inp as tf.Tensor4D, [tap.name]);
        return tf.sum(o.activations[tap.name]) as tf.Scalar;
      })(x);
      expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0);
      g.dispose();
    });
    expect(info.kernelNames).not.toContain('FusedConv2D');
    expect(info.kernelNames).not.toContain('FusedDepthwiseConv2D');
    expect(info.kernelNames).not.toContain('Conv2DBackpropFilter');
    expect(info.kernelNames).toContain('Conv2DBackpropInput');

    expect(() => vm.forward(x, ['no/such/node'])).toThrow(/unknown layer/);
    x.dispose();
    vm.dispose!();
    original.dispose();
  });
});
