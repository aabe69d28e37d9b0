import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import * as tfconv from '@tensorflow/tfjs-converter';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CnnvizError,
  guidedOverrides,
  registerKernelFixes,
  withGradientOverrides,
  type VisionModel,
} from '@cnnviz/core';
import { loadModel } from '@cnnviz/models';
import { ARCHITECTURES, buildPair, CLASSES, runLayers, SIZE } from './conformance-nets.js';
import { GRAPHS, UNSUPPORTED_GRAPHS, type GraphBuilder } from './conformance-graphs.js';
import { gradCam } from './grad-cam.js';
import { guidedBackprop } from './guided-backprop.js';
import { saliency } from './saliency.js';
import { relErr } from '../../core/src/kernels/test-util.js';

// The conformance suite (issue 22): architectures built in tfjs-layers and hand-written GraphModels, saved to
// model.json + weights on disk and loaded with loadModel. For each: forward = the original, saliency = tf.grad on
// the original (or its stock-differentiable twin), guided backprop = tf.grad on the original under guided ReLU
// gradients, Grad-CAM on every conv-like layer = its closed form from tfjs's own layer implementations, taps on
// every layer = the original's layer outputs. The layer classes and ops covered are written to docs/ (see
// `supportTable` below): CNNVIZ_UPDATE_DOCS=1 rewrites them, otherwise the test checks they are current.

const dir = mkdtempSync(join(tmpdir(), 'cnnviz-conformance-'));
const root = join(__dirname, '..', '..', '..');
const TOL = 1e-5;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function image(channels: number, seed: number): tf.Tensor3D {
  let s = seed;
  const v = Float32Array.from({ length: SIZE * SIZE * channels }, () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647;
  });
  return tf.tensor3d(v, [SIZE, SIZE, channels]);
}

async function saveLayers(model: tfl.LayersModel, name: string): Promise<string> {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (art) => {
      writeFileSync(
        join(folder, 'weights.bin'),
        Buffer.from(tf.io.CompositeArrayBuffer.join(art.weightData!)),
      );
      const json = {
        format: 'layers-model',
        modelTopology: art.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: art.weightSpecs }],
      };
      writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return join(folder, 'model.json');
}

function saveGraph(g: GraphBuilder, name: string): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const { json, data } = g.artifacts();
  writeFileSync(join(folder, 'weights.bin'), data);
  writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
  return join(folder, 'model.json');
}

const CONV_LIKE = new Set([
  'Conv2D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'Conv2DTranspose',
  '_FusedConv2D',
  'FusedDepthwiseConv2dNative',
  'DepthwiseConv2dNative',
]);

/** Every layer class in a model, nested models included. */
function classesOf(model: tfl.LayersModel, into: Set<string>): void {
  for (const l of model.layers) {
    into.add(l.getClassName());
    if (l instanceof tfl.LayersModel) classesOf(l, into);
    const a = (l.getConfig() as { activation?: string }).activation;
    if (typeof a === 'string') activationsSeen.add(a);
  }
}

const classesSeen = new Set<string>();
const activationsSeen = new Set<string>();
const opsSeen = new Set<string>();
const results: { name: string; kind: 'layers' | 'graph'; layers: number; camLayers: number }[] = [];
const target = 1;

/**
 * The checks shared by layers and graph models. `ref(x)` is the reference logits (stock TF.js, differentiable);
 * `refTaps(x)` the reference value of each tappable layer (NHWC); `refCam(layer, x)` Grad-CAM's closed form.
 */
async function conform(
  vm: VisionModel,
  img: tf.Tensor3D,
  ref: (x: tf.Tensor4D) => tf.Tensor2D,
  refTaps: (x: tf.Tensor4D) => Map<string, tf.Tensor>,
  refCam: (layer: string, x: tf.Tensor4D) => tf.Tensor2D,
): Promise<number> {
  const before = tf.memory().numTensors;
  const x = tf.expandDims(img, 0) as tf.Tensor4D;

  // Forward: the logits of the original.
  const pre = vm.preprocess(img) as tf.Tensor4D;
  const { logits } = vm.forward(pre);
  const want = tf.tidy(() => ref(x));
  expect(relErr(await logits!.data(), await want.data())).toBeLessThan(TOL);
  tf.dispose([logits, want]);

  // Saliency = tf.grad of the original's logit.
  const sal = await saliency(vm, img, { target });
  const g = tf.tidy(() => tf.grad((t: tf.Tensor) => tf.gather(ref(t as tf.Tensor4D), target, 1))(x));
  expect(relErr(await sal.raw.data(), await g.data())).toBeLessThan(TOL);

  // Guided backprop = tf.grad of the original under the guided ReLU gradients.
  const gb = await guidedBackprop(vm, img, { target });
  const gg = withGradientOverrides(guidedOverrides, () =>
    tf.tidy(() => tf.grad((t: tf.Tensor) => tf.gather(ref(t as tf.Tensor4D), target, 1))(x)),
  );
  expect(relErr(await gb.raw.data(), await gg.data())).toBeLessThan(TOL);
  tf.dispose([g, gg]);
  sal.dispose();
  gb.dispose();

  // Taps on every layer.
  const names = vm.layers.map((l) => l.name);
  const { activations } = vm.forward(pre, names, { logits: false });
  const refs = tf.tidy(() => Object.fromEntries(refTaps(x)));
  let compared = 0;
  for (const n of names) {
    const r = refs[n];
    if (r === undefined) continue;
    expect(activations[n].shape, n).toEqual(r.shape);
    expect(relErr(await activations[n].data(), await r.data()), n).toBeLessThan(TOL);
    compared++;
  }
  expect(compared).toBeGreaterThanOrEqual(names.length - 2);
  tf.dispose(Object.values(activations));
  tf.dispose([...new Set(Object.values(refs))].filter((t) => t !== x));

  // Grad-CAM on every conv-like layer = ReLU(Σ_k α_k A_k), α_k = mean_ij ∂logit/∂A_k.
  let cams = 0;
  for (const l of vm.layers.filter((l) => CONV_LIKE.has(l.kind))) {
    const cam = await gradCam(vm, img, { target, layer: l.name });
    const c = tf.tidy(() => refCam(l.name, x));
    expect(relErr(await cam.raw.data(), await c.data()), l.name).toBeLessThan(1e-4);
    cam.dispose();
    c.dispose();
    cams++;
  }
  tf.dispose([x, pre]);
  expect(tf.memory().numTensors).toBe(before);
  return cams;
}

/** Grad-CAM's closed form from an activation function and its gradient. */
function closedFormCam(a: tf.Tensor4D, grad: tf.Tensor4D): tf.Tensor2D {
  const alpha = tf.mean(grad, [1, 2]);
  return tf.squeeze(tf.relu(tf.sum(tf.mul(a, tf.reshape(alpha, [1, 1, 1, -1])), -1)), [0]) as tf.Tensor2D;
}

// Every check on cpu (stock kernels, the reference of the other tests) and on wasm with cnnviz's kernel fixes; the
// reference twin runs on the same backend. WebGPU kernels are checked by core's tests (lavapipe is slow here).
for (const backend of ['cpu', 'wasm']) {
  describe(`conformance on ${backend}: tfjs-layers architectures saved to model.json and loaded`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
      registerKernelFixes(backend);
    });

    it(`has at least 25 architectures (${ARCHITECTURES.length})`, () => {
      expect(ARCHITECTURES.length).toBeGreaterThanOrEqual(25);
    });

    it.each(ARCHITECTURES.map((a) => [a.name, a] as const))('%s', async (_name, a) => {
      const { model, ref } = buildPair(a);
      classesOf(model, classesSeen);
      const path = await saveLayers(model, a.name);
      const vm = await loadModel(path);
      const img = image(vm.inputShape[2], 7);
      const outName = ref.outputs[0].sourceLayer.name;
      const logitsOf = (m: Map<string, tf.Tensor>) => m.get(outName) as tf.Tensor2D;
      const cams = await conform(
        vm,
        img,
        (x) => ref.apply(x, { training: false }) as tf.Tensor2D,
        (x) => runLayers(ref, x),
        (layer, x) => {
          const act = runLayers(ref, x).get(layer) as tf.Tensor4D;
          const grad = tf.grad((v: tf.Tensor) =>
            tf.gather(logitsOf(runLayers(ref, x, { layer, value: v })), target, 1),
          )(act) as tf.Tensor4D;
          return closedFormCam(act, grad);
        },
      );
      if (backend === 'cpu')
        results.push({ name: a.name, kind: 'layers', layers: vm.layers.length, camLayers: cams });
      img.dispose();
      vm.dispose!();
      ref.dispose();
    });
  });

  describe(`conformance on ${backend}: hand-written GraphModels`, () => {
    beforeAll(async () => {
      await tf.setBackend(backend);
      registerKernelFixes(backend);
    });

    it.each(GRAPHS.map((g) => [g.name, g] as const))('%s', async (_name, fixture) => {
      const g = fixture.build(false);
      for (const op of g.ops) opsSeen.add(op);
      const vm = await loadModel(saveGraph(g, fixture.name));
      const twin = fixture.build(true);
      const { json, data } = twin.artifacts();
      const refModel = await tfconv.loadGraphModel(
        tf.io.fromMemory({
          modelTopology: json.modelTopology as object,
          weightSpecs: (json.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[])[0].weights,
          weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
        }),
      );
      const names = vm.layers.map((l) => l.name);
      // The output before the softmax cnnviz strips (pre-softmax logits).
      const last = g.nodes[g.nodes.length - 1] as { name: string; op: string; input: string[] };
      const out = last.op === 'Softmax' ? last.input[0] : last.name;
      const exec = (x: tf.Tensor4D, outputs: string[], feed?: Record<string, tf.Tensor>) => {
        const r = refModel.execute({ x, ...feed }, outputs);
        return Array.isArray(r) ? r : [r];
      };
      const img = image(3, 9);
      const cams = await conform(
        vm,
        img,
        (x) => exec(x, [out])[0] as tf.Tensor2D,
        (x) => {
          const vals = exec(x, names);
          return new Map(names.map((n, i) => [n, vals[i]]));
        },
        (layer, x) => {
          const act = exec(x, [layer])[0] as tf.Tensor4D;
          // The graph fed at the layer: the executor computes the output from the given node value.
          const grad = tf.grad((v: tf.Tensor) => tf.gather(exec(x, [out], { [layer]: v })[0], target, 1))(
            act,
          ) as tf.Tensor4D;
          return closedFormCam(act, grad);
        },
      );
      if (backend === 'cpu')
        results.push({ name: fixture.name, kind: 'graph', layers: vm.layers.length, camLayers: cams });
      img.dispose();
      vm.dispose!();
      refModel.dispose();
    });

    it.each(UNSUPPORTED_GRAPHS.map((g) => [g.name, g] as const))(
      '%s: refused at load time with UNSUPPORTED_OP naming the op',
      async (_name, fixture) => {
        const path = saveGraph(fixture.build(), fixture.name);
        const e = await loadModel(path).then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(CnnvizError.isInstance(e)).toBe(true);
        expect((e as CnnvizError).code).toBe('UNSUPPORTED_OP');
        expect((e as CnnvizError).message).toContain(fixture.op);
      },
    );
  });
}

describe('conformance: layers cnnviz cannot differentiate', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('an Embedding is refused at load time with UNSUPPORTED_LAYER naming it', async () => {
    const input = tfl.input({ shape: [SIZE, SIZE, 3], name: 'input' });
    const idx = tfl.layers
      .reshape({ name: 'ids', targetShape: [SIZE * SIZE * 3] })
      .apply(input) as tfl.SymbolicTensor;
    const e = tfl.layers
      .embedding({ name: 'lookup', inputDim: 4, outputDim: 2 })
      .apply(idx) as tfl.SymbolicTensor;
    const out = tfl.layers
      .dense({ name: 'logits', units: CLASSES })
      .apply(tfl.layers.flatten().apply(e)) as tfl.SymbolicTensor;
    const path = await saveLayers(tfl.model({ inputs: input, outputs: out }), 'embedding');
    await expect(loadModel(path)).rejects.toMatchObject({
      code: 'UNSUPPORTED_LAYER',
      message: expect.stringContaining("'lookup' (Embedding)"),
    });
  });

  it('a CenterCrop (cropAndResize: no gradient in TF.js) is refused at load time with UNSUPPORTED_LAYER', async () => {
    const input = tfl.input({ shape: [SIZE, SIZE, 3], name: 'input' });
    const c = tfl.layers.centerCrop({ name: 'crop', height: 6, width: 6 }).apply(input) as tfl.SymbolicTensor;
    const out = tfl.layers
      .dense({ name: 'logits', units: CLASSES })
      .apply(tfl.layers.flatten().apply(c)) as tfl.SymbolicTensor;
    const path = await saveLayers(tfl.model({ inputs: input, outputs: out }), 'center-crop');
    await expect(loadModel(path)).rejects.toMatchObject({
      code: 'UNSUPPORTED_LAYER',
      message: expect.stringContaining(
        "'crop' (CenterCrop): tfjs-layers' CenterCrop runs tf.image.cropAndResize",
      ),
    });
  });

  it('a layer class tfjs-layers does not know is refused with UNSUPPORTED_LAYER naming it', async () => {
    const { model } = buildPair(ARCHITECTURES[0]);
    const path = await saveLayers(model, 'unknown-layer');
    const json = JSON.parse(readFileSync(path, 'utf8'));
    json.modelTopology.config.layers[1].class_name = 'GroupNormalization';
    writeFileSync(path, JSON.stringify(json));
    await expect(loadModel(path)).rejects.toMatchObject({
      code: 'UNSUPPORTED_LAYER',
      message: expect.stringContaining("'pool1' is a GroupNormalization"),
    });
    model.dispose();
  });
});

/** The support table the README and docs show, from what this suite ran. */
function supportTable(): string {
  const arch = results.filter((r) => r.kind === 'layers');
  const graphs = results.filter((r) => r.kind === 'graph');
  const list = (s: Iterable<string>) =>
    [...s]
      .sort()
      .map((c) => `\`${c}\``)
      .join(', ');
  return [
    `Generated by the conformance suite (packages/attribution/src/conformance.test.ts): ${arch.length} tfjs-layers`,
    `architectures and ${graphs.length} GraphModels, each saved to model.json + weights, loaded with \`loadModel\`, and`,
    'checked on the cpu and wasm backends for forward values, saliency = `tf.grad`, guided backprop, Grad-CAM on every',
    'conv-like layer and taps on every layer.',
    '',
    `**Layer classes (${classesSeen.size}):** ${list(classesSeen)}.`,
    '',
    `**Activation strings (${activationsSeen.size}):** ${list(activationsSeen)}.`,
    '',
    `**GraphModel ops (${opsSeen.size}):** ${list(opsSeen)}; NHWC and NCHW (\`data_format\`), dilated convolutions included.`,
    '',
    'Keras 3 exports (TensorFlow >= 2.16 with tensorflowjs: `batch_shape`, `{args, kwargs}` inbound nodes,',
    'DTypePolicy objects, `module`/`registered_name`, `Functional`) are normalised on load.',
    'Refused at load time, naming the layer or op: layers without an input gradient (`Embedding`, lookups, hashing,',
    '`CenterCrop`) and layer classes tfjs-layers cannot build with `UNSUPPORTED_LAYER`; graph ops without one',
    '(`ArgMax`, `TopKV2`, `NonMaxSuppression*`, control flow) or unknown to TF.js with `UNSUPPORTED_OP`.',
    '',
    'Not covered because tfjs-layers 4.22 itself fails on them: `Resizing` (its symbolic shape drops the batch axis),',
    '`CenterCrop` (refused: it runs `cropAndResize`, which has no gradient), the `gelu_new` activation (tfjs cannot read back',
    'what it writes), `log_softmax` (no such activation in tfjs-layers), `ELU` with `alpha` != 1. `Conv3D` is not',
    'in the suite: cnnviz models take images, not volumes.',
  ].join('\n');
}

async function prettierConfig(): Promise<Record<string, unknown>> {
  const { resolveConfig } = await import('prettier');
  return (await resolveConfig(join(root, 'package.json'))) ?? {};
}

const START = '<!-- conformance:start -->';
const END = '<!-- conformance:end -->';

/** The kinds the suite covers, as the source file `@cnnviz/models` reports them from (`layerSupport`). */
function testedKindsSource(): string {
  const kinds = [...new Set([...classesSeen, ...opsSeen])].sort();
  return [
    '// Generated by packages/attribution/src/conformance.test.ts (CNNVIZ_UPDATE_DOCS=1): the layer classes and graph',
    '// ops the conformance suite loads and checks (forward, saliency, guided backprop, Grad-CAM, taps).',
    `export const TESTED_KINDS: readonly string[] = ${JSON.stringify(kinds)};`,
    '',
  ].join('\n');
}

describe('conformance: the support table in the docs is the one this suite generates', () => {
  it('packages/models/src/tested-kinds.ts is current', async () => {
    const file = join(root, 'packages', 'models', 'src', 'tested-kinds.ts');
    const { format } = await import('prettier');
    const fresh = await format(testedKindsSource(), { filepath: file, ...(await prettierConfig()) });
    if (process.env.CNNVIZ_UPDATE_DOCS === '1') writeFileSync(file, fresh);
    else expect(readFileSync(file, 'utf8'), `${file} is stale: rerun with CNNVIZ_UPDATE_DOCS=1`).toBe(fresh);
  });

  it('docs/supported-layers.md and packages/models/README.md are current', () => {
    expect(results.length).toBe(ARCHITECTURES.length + GRAPHS.length);
    const table = supportTable();
    for (const file of [
      join(root, 'docs', 'supported-layers.md'),
      join(root, 'packages', 'models', 'README.md'),
    ]) {
      const text = readFileSync(file, 'utf8');
      const a = text.indexOf(START);
      const b = text.indexOf(END);
      expect(a, `${file} has no ${START} section`).toBeGreaterThanOrEqual(0);
      const fresh = `${text.slice(0, a + START.length)}\n\n${table}\n\n${text.slice(b)}`;
      if (process.env.CNNVIZ_UPDATE_DOCS === '1') writeFileSync(file, fresh);
      else expect(text, `${file} is stale: rerun with CNNVIZ_UPDATE_DOCS=1`).toBe(fresh);
    }
  });
});
