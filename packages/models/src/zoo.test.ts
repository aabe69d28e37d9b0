import { beforeAll, describe, expect, it } from 'vitest';
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileURLToPath } from 'node:url';
import { channel, CnnvizError, objectiveGradient } from '@cnnviz/core';
import { zoo, zooEntries, type ZooModel } from './zoo.js';
import { datasets, FASHION_LABELS } from './datasets.js';
import { images } from './images.js';
import { zooLayersModel } from './zoo-weights.js';
import { fileHandler } from './load.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

function layerNames(m: ZooModel): string[] {
  return m.layers.map((l) => l.name);
}

describe('zoo.fashionCnn', () => {
  it('reaches >= 90 % on the bundled 1k Fashion-MNIST test subset', async () => {
    const model = await zoo.fashionCnn();
    const data = await datasets.fashionMnistTest1k();
    expect(data.images.shape).toEqual([1000, 28, 28, 1]);
    // About 100 per class (the first 1000 of t10k).
    const counts = new Array<number>(10).fill(0);
    data.labels.forEach((l) => counts[l]++);
    expect(Math.min(...counts)).toBeGreaterThan(80);
    const before = tf.memory().numTensors;
    let correct = 0;
    for (let s = 0; s < 1000; s += 250) {
      const pred = tf.tidy(() => {
        const batch = tf.slice(data.images, [s, 0, 0, 0], [250, 28, 28, 1]);
        return tf.argMax(model.forward(model.preprocess(batch)).logits, 1);
      });
      const p = pred.dataSync();
      for (let i = 0; i < p.length; i++) if (p[i] === data.labels[s + i]) correct++;
      pred.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    const acc = correct / 1000;
    console.log(`fashionCnn accuracy on the 1k subset: ${(acc * 100).toFixed(1)} %`);
    expect(acc).toBeGreaterThanOrEqual(0.9);
    expect(model.labels).toEqual(FASHION_LABELS);
    expect(model.entry.name).toBe('fashionCnn');
    data.dispose();
    model.dispose!();
  });

  it('logits are the saved model’s probabilities before its softmax layer', async () => {
    const model = await zoo.fashionCnn();
    const path = fileURLToPath(new URL('../assets/fashion-cnn/model.json', import.meta.url));
    const raw = await tfl.loadLayersModel(fileHandler(path));
    expect(raw.layers[raw.layers.length - 1].getClassName()).toBe('Activation');
    expect(layerNames(model)).not.toContain('probs');
    const data = await datasets.fashionMnistTest1k();
    const x = tf.slice(data.images, [0, 0, 0, 0], [16, 28, 28, 1]);
    const { logits } = model.forward(model.preprocess(x));
    const probs = raw.predict(x) as tf.Tensor2D;
    // log p = logits - logsumexp(logits): equal up to a per-row constant.
    expect(tf.tidy(() => maxAbsDiff(tf.logSoftmax(logits), tf.log(probs)))).toBeLessThan(1e-3);
    expect(tf.tidy(() => maxAbsDiff(tf.softmax(logits), probs))).toBeLessThan(1e-5);
    tf.dispose([x, logits, probs]);
    data.dispose();
    raw.dispose();
    model.dispose!();
  });

  it('classifies the bundled Fashion-MNIST item images', async () => {
    const model = await zoo.fashionCnn();
    const names = images.list().filter((n) => n.startsWith('fashion-'));
    expect(names).toHaveLength(10);
    let correct = 0;
    for (const n of names) {
      const img = await images.load(n);
      expect(img.shape).toEqual([28, 28, 1]);
      const k = tf.tidy(() => tf.argMax(model.forward(model.preprocess(img)).logits, 1).dataSync()[0]);
      if (img.shape && model.labels![k] === images.catalog[n].description.match(/'(.*)'/)![1]) correct++;
      img.dispose();
    }
    expect(correct).toBeGreaterThanOrEqual(8);
    model.dispose!();
  });

  it('declares layers of interest that exist', async () => {
    const model = await zoo.fashionCnn();
    const names = layerNames(model);
    const loi = zooEntries.fashionCnn.layersOfInterest;
    for (const l of [...loi.dream, ...loi.style, loi.content, loi.gradcam]) expect(names).toContain(l);
    expect(model.layers.find((l) => l.name === 'conv2')!.kernel).toEqual({
      size: [3, 3],
      strides: [1, 1],
      padding: 'same',
      dilation: [1, 1],
    });
    model.dispose!();
  });
});

describe('zoo.mobilenetV2Features', () => {
  it("matches tfjs-layers' own execution of the same weights to 1e-5 of each layer's scale", async () => {
    const model = await zoo.mobilenetV2Features();
    const reference = await zooLayersModel('mobilenetV2Features');
    const taps = ['Conv1_relu', 'block_2_add', 'block_6_expand_relu', 'block_13_expand_relu', 'out_relu'];
    const ref = tfl.model({
      inputs: reference.inputs,
      outputs: taps.map((t) => reference.getLayer(t).output as tfl.SymbolicTensor),
    });
    const cat = await images.load('chelsea');
    const x = tf.tidy(() => tf.expandDims(tf.image.resizeBilinear(cat, [224, 224]), 0)) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const px = model.preprocess(x);
    const out = model.forward(px, taps);
    const expected = ref.predict(x) as tf.Tensor[];
    taps.forEach((t, i) => {
      expect(out.activations[t].shape).toEqual(expected[i].shape);
      // Relative to the layer's scale: BatchNorm folded into the convs rounds differently than BatchNorm applied.
      const scale = tf.tidy(() => tf.max(tf.abs(expected[i])).dataSync()[0]);
      expect(maxAbsDiff(out.activations[t], expected[i])).toBeLessThan(1e-5 * Math.max(1, scale));
    });
    // Logits are the global average of out_relu, no NSFW head.
    expect(out.logits.shape).toEqual([1, 1280]);
    expect(tf.tidy(() => maxAbsDiff(out.logits, tf.mean(expected[4], [1, 2])))).toBeLessThan(1e-5);
    expect(model.labels).toBeUndefined();
    expect(layerNames(model).some((n) => n.startsWith('dense'))).toBe(false);
    tf.dispose([px, out.logits, ...Object.values(out.activations), ...expected]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([cat, x]);
    reference.dispose();
    model.dispose!();
  });

  it('builds any input size and exposes its layers of interest', async () => {
    const model = await zoo.mobilenetV2Features({ inputSize: 96 });
    expect(model.inputShape).toEqual([96, 96, 3]);
    expect(model.entry.inputSize).toEqual([96, 96, 3]);
    const byName = Object.fromEntries(model.layers.map((l) => [l.name, l]));
    expect(byName.out_relu.outputShape).toEqual([3, 3, 1280]);
    expect(byName.block_13_expand_relu.outputShape).toEqual([6, 6, 576]);
    expect(byName.block_2_add.inputs).toHaveLength(2);
    expect(byName.Conv1.kernel).toEqual({
      size: [3, 3],
      strides: [2, 2],
      padding: 'valid',
      dilation: [1, 1],
    });
    const loi = zooEntries.mobilenetV2Features.layersOfInterest;
    for (const l of [...loi.dream, ...loi.style, loi.content, loi.gradcam]) expect(byName[l]).toBeDefined();
    // Differentiable through the whole backbone, for a tap deep inside it.
    const x = tf.randomUniform([1, 96, 96, 3], 0, 1, 'float32', 2) as tf.Tensor4D;
    const g = tf.grad(
      (inp: tf.Tensor) =>
        tf.sum(
          tf.slice(
            model.forward(model.preprocess(inp as tf.Tensor4D), ['block_13_expand_relu']).activations
              .block_13_expand_relu,
            [0, 0, 0, 5],
            [1, -1, -1, 1],
          ),
        ) as tf.Scalar,
    )(x);
    expect(g.shape).toEqual([1, 96, 96, 3]);
    expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([x, g]);
    expect(() => model.forward(tf.zeros([1, 96, 96, 3]) as tf.Tensor4D, ['block_13_expand_reluu'])).toThrow(
      CnnvizError,
    );
    model.dispose!();
  });

  it('{ logits: false } stops at the deepest tap with the same activations and gradients', async () => {
    const model = await zoo.mobilenetV2Features({ inputSize: 96 });
    const x = tf.randomUniform([1, 96, 96, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const px = model.preprocess(x);
    const taps = ['Conv1_relu', 'block_2_add'];
    const before = tf.memory().numTensors;
    const kernels = async (fn: () => void) => (await tf.profile(fn)).kernels.length;
    const full = await kernels(() => {
      const o = model.forward(px, taps);
      tf.dispose([o.logits, ...Object.values(o.activations)]);
    });
    const early = await kernels(() =>
      tf.dispose(Object.values(model.forward(px, taps, { logits: false }).activations)),
    );
    // 2 of 17 blocks: far fewer kernels.
    expect(early).toBeLessThan(full / 3);
    const out = model.forward(px, taps);
    const cut = model.forward(px, taps, { logits: false });
    expect(cut.logits).toBeUndefined();
    for (const t of taps) expect(cut.activations[t].dataSync()).toEqual(out.activations[t].dataSync());
    tf.dispose([out.logits, ...Object.values(out.activations), ...Object.values(cut.activations)]);
    expect(tf.memory().numTensors).toBe(before);

    // objectiveGradient asks for no logits for channel(); same gradient as a forward that ignores it.
    const ignoring = { ...model, forward: (inp: tf.Tensor4D, t?: string[]) => model.forward(inp, t) };
    const a = objectiveGradient(model, x, channel('block_2_add', 7));
    const b = objectiveGradient(ignoring, x, channel('block_2_add', 7));
    expect(a.values.dataSync()).toEqual(b.values.dataSync());
    expect(a.grad.dataSync()).toEqual(b.grad.dataSync());
    expect(tf.tidy(() => tf.max(tf.abs(a.grad)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([a.values, a.grad, b.values, b.grad]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, px]);
    model.dispose!();
  });

  it('rejects input sizes below its minimum', async () => {
    await expect(zoo.mobilenetV2Features({ inputSize: 8 })).rejects.toMatchObject({ code: 'BAD_OPTION' });
  });
});

describe('zoo.inceptionV3Features', () => {
  it('loads mixed0..mixed10 and differentiates through BatchNorm without scale', async () => {
    const model = await zoo.inceptionV3Features({ inputSize: 75 });
    const names = layerNames(model);
    for (let i = 0; i <= 10; i++) expect(names).toContain(`mixed${i}`);
    const loi = zooEntries.inceptionV3Features.layersOfInterest;
    for (const l of [...loi.dream, ...loi.style, loi.content, loi.gradcam]) expect(names).toContain(l);
    expect(model.layers.find((l) => l.name === 'mixed10')!.outputShape).toEqual([1, 1, 2048]);
    const x = tf.randomUniform([1, 75, 75, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const g = tf.grad(
      (inp: tf.Tensor) =>
        tf.mean(model.forward(inp as tf.Tensor4D, ['mixed3']).activations.mixed3) as tf.Scalar,
    )(x);
    expect(Number.isFinite(tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]))).toBe(true);
    expect(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])).toBeGreaterThan(0);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // Same values as tfjs-layers' own execution of the same weights (its BatchNorm, fused convs).
    const ref = await zooLayersModel('inceptionV3Features', { cut: 'mixed2', inputSize: 75 });
    const expected = ref.predict(x) as tf.Tensor;
    const got = model.forward(x, ['mixed2']).activations.mixed2;
    const scale = tf.tidy(() => tf.max(tf.abs(expected)).dataSync()[0]);
    expect(maxAbsDiff(got, expected)).toBeLessThan(1e-4 * Math.max(1, scale));
    tf.dispose([x, got, expected]);
    ref.dispose();
    model.dispose!();
  });
});
