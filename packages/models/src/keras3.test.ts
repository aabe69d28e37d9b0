import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CnnvizError } from '@cnnviz/core';
import { isKeras3, normalizeKeras3 } from './keras3.js';
import { loadModel } from './load.js';
import { relErr } from '../../core/src/kernels/test-util.js';

// Keras 3 exports (TensorFlow >= 2.16 + tensorflowjs). The fixtures are model.json files in the exact format of
// tfjs issue #8328's attachment and of Keras 3's serialisation (keras/src/models/functional.py `get_config`,
// keras/src/saving/serialization_lib.py): `batch_shape`, `{args, kwargs}` nodes with `__keras_tensor__`
// `keras_history`, DTypePolicy objects, `module`/`registered_name`/`build_config`, scoped and `.keras` weight names.
// Weights are generated here; each loaded model is checked against the same network built in tfjs-layers.

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-keras3-'));
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(__dirname, 'fixtures', `${name}.json`), 'utf8')) as {
    modelTopology: Record<string, unknown>;
    weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[];
  };

beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Seeded weight values per manifest entry (variances and scales positive). */
function values(name: string, shape: number[], seed: number): Float32Array {
  let s = seed;
  const n = shape.reduce((a, b) => a * b, 1);
  const positive = /variance|gamma|vars\/[23]$/.test(name);
  return Float32Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    const u = s / 2147483647 - 0.5;
    return positive ? 0.5 + Math.abs(u) : u;
  });
}

/** Writes the fixture with generated weights as model.json + group1-shard1of1.bin; returns the path and values. */
function write(name: string): { path: string; weights: Float32Array[] } {
  const json = fixture(name);
  const weights = json.weightsManifest[0].weights.map((w, i) => values(w.name, w.shape, 11 + i));
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const bytes = Buffer.concat(weights.map((w) => Buffer.from(w.buffer)));
  writeFileSync(join(folder, 'group1-shard1of1.bin'), bytes);
  writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
  return { path: join(folder, 'model.json'), weights };
}

/** Zero insertion of a [kh,kw,a,b] kernel (stock tfjs cannot differentiate the dilated original). */
function undilate(w: Float32Array, shape: number[], d: number): tf.Tensor4D {
  const [fh, fw, a, b] = shape;
  const W = (fw - 1) * d + 1;
  const out = new Float32Array(((fh - 1) * d + 1) * W * a * b);
  for (let i = 0; i < fh; i++)
    for (let j = 0; j < fw; j++)
      for (let k = 0; k < a * b; k++) out[(i * d * W + j * d) * a * b + k] = w[(i * fw + j) * a * b + k];
  return tf.tensor4d(out, [(fh - 1) * d + 1, W, a, b]);
}

/** Logits and the saliency of class 1 from the loaded model equal those of the tfjs-layers reference. */
async function expectSame(path: string, reference: tfl.LayersModel): Promise<void> {
  const vm = await loadModel(path);
  const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const logit = (f: (t: tf.Tensor4D) => tf.Tensor2D) => (t: tf.Tensor) =>
    tf.gather(f(t as tf.Tensor4D), 1, 1) as tf.Tensor;
  const ours = (t: tf.Tensor4D) => vm.forward(t).logits!;
  const theirs = (t: tf.Tensor4D) => reference.apply(t) as tf.Tensor2D;
  const before = tf.memory().numTensors;
  const [a, b] = tf.tidy(() => [ours(x), theirs(x)]);
  expect(relErr(a.dataSync(), b.dataSync())).toBeLessThan(1e-5);
  const [ga, gb] = tf.tidy(() => [tf.grad(logit(ours))(x), tf.grad(logit(theirs))(x)]);
  expect(relErr(ga.dataSync(), gb.dataSync())).toBeLessThan(1e-5);
  tf.dispose([a, b, ga, gb]);
  expect(tf.memory().numTensors).toBe(before);
  x.dispose();
  vm.dispose!();
  reference.dispose();
}

describe('Keras 3 model.json files', () => {
  it('stock TF.js cannot load them (tfjs issues #8328, #8494)', async () => {
    const json = fixture('keras3-functional');
    await expect(
      tfl.loadLayersModel(
        tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights }),
      ),
    ).rejects.toThrow(/batchInputShape|inputShape/);
  });

  it('a Functional export (batch_shape, args/kwargs nodes, DTypePolicy, dilated depthwise, softmax head) loads and matches tfjs-layers', async () => {
    const { path, weights: w } = write('keras3-functional');
    const input = tfl.input({ shape: [8, 8, 3] });
    const c = tfl.layers
      .conv2d({
        filters: 4,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        weights: [tf.tensor4d(w[0], [3, 3, 3, 4]), tf.tensor1d(w[1])],
      })
      .apply(input) as tfl.SymbolicTensor;
    const bn = tfl.layers
      .batchNormalization({ weights: [2, 3, 4, 5].map((i) => tf.tensor1d(w[i])) })
      .apply(c) as tfl.SymbolicTensor;
    // The dilated depthwise conv as its zero-inserted undilated twin (stock tfjs has no dilated gradients).
    const dw = tfl.layers
      .depthwiseConv2d({
        kernelSize: 5,
        padding: 'same',
        weights: [undilate(w[6], [3, 3, 4, 1], 2), tf.tensor1d(w[7])],
      })
      .apply(bn) as tfl.SymbolicTensor;
    const add = tfl.layers.add().apply([bn, dw]) as tfl.SymbolicTensor;
    const act = tfl.layers.leakyReLU({ alpha: 0.1 }).apply(add) as tfl.SymbolicTensor;
    const gap = tfl.layers.globalAveragePooling2d({}).apply(act) as tfl.SymbolicTensor;
    // Pre-softmax: cnnviz scores the logits of a softmax head.
    const out = tfl.layers
      .dense({ units: 3, weights: [tf.tensor2d(w[8], [4, 3]), tf.tensor1d(w[9])] })
      .apply(gap) as tfl.SymbolicTensor;
    await expectSame(path, tfl.model({ inputs: input, outputs: out }));
  });

  const sequentialReference = (w: Float32Array[]) =>
    tfl.sequential({
      layers: [
        tfl.layers.conv2d({
          inputShape: [8, 8, 3],
          filters: 4,
          kernelSize: 3,
          padding: 'same',
          activation: 'swish',
          weights: [tf.tensor4d(w[0], [3, 3, 3, 4]), tf.tensor1d(w[1])],
        }),
        tfl.layers.maxPooling2d({ poolSize: 2 }),
        tfl.layers.conv2d({
          filters: 4,
          kernelSize: 3,
          activation: 'relu',
          weights: [undilate(w[2], [2, 2, 4, 4], 2), tf.tensor1d(w[3])],
        }),
        tfl.layers.flatten(),
        tfl.layers.dense({ units: 3, weights: [tf.tensor2d(w[4], [16, 3]), tf.tensor1d(w[5])] }),
      ],
    });

  it('a Sequential export (module/registered_name/build_config, silu, scoped weight names) loads and matches', async () => {
    const { path, weights } = write('keras3-sequential');
    await expectSame(path, sequentialReference(weights));
  });

  it('a .keras file converted with tensorflowjs_converter (layers/<name>/vars/<i> weights) loads and matches', async () => {
    const { path, weights } = write('keras3-keras-file');
    await expectSame(path, sequentialReference(weights));
  });

  it('is detected, and Keras 2 topologies pass through unchanged', () => {
    expect(isKeras3(fixture('keras3-functional').modelTopology)).toBe(true);
    expect(isKeras3(fixture('keras3-keras-file').modelTopology)).toBe(true);
    const keras2 = {
      keras_version: '2.15.0',
      model_config: { class_name: 'Sequential', config: { name: 's', layers: [] } },
    };
    const art = { modelTopology: keras2 };
    expect(normalizeKeras3(art)).toBe(art);
  });

  const topology = (layer: Record<string, unknown>) => ({
    modelTopology: {
      keras_version: '3.6.0',
      model_config: {
        class_name: 'Functional',
        config: {
          name: 'f',
          layers: [
            {
              class_name: 'InputLayer',
              name: 'in',
              config: { batch_shape: [null, 8, 8, 3], name: 'in' },
              inbound_nodes: [],
            },
            { name: 'l', inbound_nodes: [], ...layer },
          ],
          input_layers: ['in', 0, 0],
          output_layers: ['l', 0, 0],
        },
      },
    },
  });
  const config = (art: tf.io.ModelArtifacts) =>
    (art.modelTopology as { model_config: { config: Record<string, unknown> } }).model_config.config;

  it('rewrites flat input/output lists, function-form activations, ReLU slopes and Keras-only no-op layers', () => {
    const fn = normalizeKeras3(
      topology({
        class_name: 'Conv2D',
        config: {
          name: 'l',
          activation: {
            module: 'keras.activations',
            class_name: 'function',
            config: 'silu',
            registered_name: 'silu',
          },
        },
      }) as tf.io.ModelArtifacts,
    );
    expect(config(fn).input_layers).toEqual([['in', 0, 0]]);
    expect(config(fn).output_layers).toEqual([['l', 0, 0]]);
    const layers = config(fn).layers as { class_name: string; config: Record<string, unknown> }[];
    expect(layers[0].config.batch_input_shape).toEqual([null, 8, 8, 3]);
    expect(layers[1].config.activation).toBe('swish');
    const relu = normalizeKeras3(
      topology({
        class_name: 'ReLU',
        config: { name: 'l', negative_slope: 0.2, threshold: 0, max_value: null },
      }) as tf.io.ModelArtifacts,
    );
    expect((config(relu).layers as { class_name: string; config: { alpha: number } }[])[1]).toMatchObject({
      class_name: 'LeakyReLU',
      config: { alpha: 0.2 },
    });
    const flip = normalizeKeras3(
      topology({
        class_name: 'RandomFlip',
        config: { name: 'l', mode: 'horizontal' },
      }) as tf.io.ModelArtifacts,
    );
    expect(
      (config(flip).layers as { class_name: string; config: { activation: string } }[])[1],
    ).toMatchObject({
      class_name: 'Activation',
      config: { activation: 'linear' },
    });
  });

  it.each([
    [{ class_name: 'Conv2D', config: { name: 'l', groups: 2 } }, /'l' \(Conv2D\): grouped convolution/],
    [
      { class_name: 'Dense', config: { name: 'l', activation: 'hard_sigmoid' } },
      /'l' \(Dense\): .*hard_sigmoid/,
    ],
    [{ class_name: 'ReLU', config: { name: 'l', threshold: 0.5 } }, /'l' \(ReLU\): ReLU with a threshold/],
  ])('refuses what tfjs cannot reproduce with UNSUPPORTED_LAYER naming the layer: %o', (layer, message) => {
    let err: unknown;
    try {
      normalizeKeras3(topology(layer) as tf.io.ModelArtifacts);
    } catch (e) {
      err = e;
    }
    expect(CnnvizError.isInstance(err) && err.code).toBe('UNSUPPORTED_LAYER');
    expect((err as Error).message).toMatch(message);
  });
});
