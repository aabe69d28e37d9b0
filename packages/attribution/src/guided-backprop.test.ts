import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { neuron } from '@cnnviz/core';
import { gradCam } from './grad-cam.js';
import { guidedBackprop } from './guided-backprop.js';
import { guidedGradCam } from './guided-grad-cam.js';
import { saliency } from './saliency.js';
import { upsample } from './upsample.js';
import { expectClose, expectNoLeak, seeded, seededImage, tinyNet } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// [4,4,1] → conv1 2x2 (1→2) → ReLU → conv2 2x2 (2→2) → ReLU → flatten (HWC) → fc (8→3).
const K1 = seeded(8, 31); // [2,2,1,2]
const B1 = [0.1, -0.2];
const K2 = seeded(16, 32); // [2,2,2,2]
const B2 = [0.05, -0.1];
const W = seeded(24, 33); // [8,3]
const net = () =>
  tinyNet(
    [4, 4, 1],
    [
      { type: 'conv', name: 'conv1', shape: [2, 2, 1, 2], kernel: K1, bias: B1 },
      { type: 'relu', name: 'relu1' },
      { type: 'conv', name: 'conv2', shape: [2, 2, 2, 2], kernel: K2, bias: B2 },
      { type: 'relu', name: 'relu2' },
      { type: 'flatten', name: 'flatten' },
      { type: 'dense', name: 'fc', shape: [8, 3], kernel: W, bias: [0, 0, 0] },
    ],
  );
const k1 = (a: number, b: number, o: number) => K1[(a * 2 + b) * 2 + o];
const k2 = (a: number, b: number, c: number, o: number) => K2[((a * 2 + b) * 2 + c) * 2 + o];

/**
 * The definition written out by hand: forward in loops, then the backward pass with every ReLU's
 * gradient replaced by (grad > 0) * (input > 0) * grad (or, with guided = false, the ordinary
 * (input > 0) * grad; with 'deconvnet', Zeiler & Fergus's (grad > 0) * grad). `seed(o, i, j)` is
 * d objective / d relu2 output.
 */
function byHand(
  x: Float32Array,
  seed: (o: number, i: number, j: number) => number,
  guided: boolean | 'deconvnet',
) {
  const z1 = [0, 1].map((o) =>
    [0, 1, 2].map((i) =>
      [0, 1, 2].map((j) => {
        let s = B1[o];
        for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) s += x[(i + a) * 4 + j + b] * k1(a, b, o);
        return s;
      }),
    ),
  );
  const h1 = z1.map((m) => m.map((r) => r.map((v) => Math.max(v, 0))));
  const z2 = [0, 1].map((o) =>
    [0, 1].map((i) =>
      [0, 1].map((j) => {
        let s = B2[o];
        for (let a = 0; a < 2; a++)
          for (let b = 0; b < 2; b++) for (let c = 0; c < 2; c++) s += h1[c][i + a][j + b] * k2(a, b, c, o);
        return s;
      }),
    ),
  );
  const relu = (g: number, z: number) =>
    guided === 'deconvnet' ? Math.max(g, 0) : guided ? (g > 0 && z > 0 ? g : 0) : z > 0 ? g : 0;
  const g2 = [0, 1].map((o) => [0, 1].map((i) => [0, 1].map((j) => relu(seed(o, i, j), z2[o][i][j]))));
  const gh1 = [0, 1].map((c) =>
    [0, 1, 2].map((p) =>
      [0, 1, 2].map((q) => {
        let s = 0;
        for (let o = 0; o < 2; o++)
          for (let a = 0; a < 2; a++)
            for (let b = 0; b < 2; b++) {
              const i = p - a;
              const j = q - b;
              if (i >= 0 && i < 2 && j >= 0 && j < 2) s += g2[o][i][j] * k2(a, b, c, o);
            }
        return s;
      }),
    ),
  );
  const g1 = gh1.map((m, c) => m.map((r, p) => r.map((g, q) => relu(g, z1[c][p][q]))));
  const gx = new Float32Array(16);
  for (let p = 0; p < 4; p++)
    for (let q = 0; q < 4; q++) {
      let s = 0;
      for (let o = 0; o < 2; o++)
        for (let a = 0; a < 2; a++)
          for (let b = 0; b < 2; b++) {
            const i = p - a;
            const j = q - b;
            if (i >= 0 && i < 3 && j >= 0 && j < 3) s += g1[o][i][j] * k1(a, b, o);
          }
      gx[p * 4 + q] = s;
    }
  return { gx, z1: z1.flat(2), z2: z2.flat(2), gh1: gh1.flat(2) };
}

describe('guidedBackprop', () => {
  it('equals the definition on a net with negative pre-activations and negative gradients', async () => {
    const model = net();
    const img = seededImage([4, 4, 1], 34);
    const x = (await img.data()) as Float32Array;
    for (const target of [0, 1, 2]) {
      const seed = (o: number, i: number, j: number) => W[((i * 2 + j) * 2 + o) * 3 + target];
      const guided = byHand(x, seed, true);
      const plain = byHand(x, seed, false);
      // The case must exercise both masks: units with negative input, gradients of both signs.
      expect(guided.z1.some((v) => v < 0) && guided.z2.some((v) => v < 0)).toBe(true);
      const r = await guidedBackprop(model, img, { target });
      expectClose(await r.raw.data(), guided.gx, 1e-5);
      const s = await saliency(model, img, { target });
      expectClose(await s.raw.data(), plain.gx, 1e-5);
      r.dispose();
      s.dispose();
    }
    // At least one target's guided gradient must differ from the plain one, or the test shows nothing.
    const seed0 = (o: number, i: number, j: number) => W[((i * 2 + j) * 2 + o) * 3];
    const diff = byHand(x, seed0, true).gx.some((v, i) => Math.abs(v - byHand(x, seed0, false).gx[i]) > 1e-3);
    expect(diff).toBe(true);
    img.dispose();
    model.dispose();
  });

  it('explains one neuron of an intermediate layer (objective target), by the definition', async () => {
    const model = net();
    const img = seededImage([4, 4, 1], 35);
    const x = (await img.data()) as Float32Array;
    const r = await guidedBackprop(model, img, { objective: neuron('relu2', 1, 0, 1) });
    const expected = byHand(x, (o, i, j) => (o === 1 && i === 0 && j === 1 ? 1 : 0), true).gx;
    expectClose(await r.raw.data(), expected, 1e-5);
    r.dispose();
    img.dispose();
    model.dispose();
  });

  it("with rule 'deconvnet' equals Zeiler & Fergus's reconstruction by hand, unlike guided backprop", async () => {
    const model = net();
    const img = seededImage([4, 4, 1], 38);
    const x = (await img.data()) as Float32Array;
    let differs = false;
    for (const target of [0, 1, 2]) {
      const seed = (o: number, i: number, j: number) => W[((i * 2 + j) * 2 + o) * 3 + target];
      const deconv = byHand(x, seed, 'deconvnet');
      const r = await guidedBackprop(model, img, { target, rule: 'deconvnet' });
      expectClose(await r.raw.data(), deconv.gx, 1e-5);
      // The case must pass a positive gradient through a unit that was off going forward.
      differs ||= byHand(x, seed, true).gx.some((v, i) => Math.abs(v - deconv.gx[i]) > 1e-3);
      r.dispose();
    }
    expect(differs).toBe(true);
    await expect(guidedBackprop(model, img, { target: 0, rule: 'lrp' as 'guided' })).rejects.toThrow(
      /rule must be 'guided' or 'deconvnet'/,
    );
    await expectNoLeak(async () =>
      (await guidedBackprop(model, img, { target: 1, rule: 'deconvnet' })).dispose(),
    );
    img.dispose();
    model.dispose();
  });

  it('leaves the ordinary ReLU gradient in place afterwards, and leaks nothing', async () => {
    const model = net();
    const img = seededImage([4, 4, 1], 36);
    const before = await saliency(model, img, { target: 1 });
    await expectNoLeak(async () => (await guidedBackprop(model, img, { target: 1 })).dispose());
    const after = await saliency(model, img, { target: 1 });
    expectClose(await after.raw.data(), await before.raw.data(), 0);
    before.dispose();
    after.dispose();
    img.dispose();
    model.dispose();
  });
});

describe('guidedGradCam', () => {
  it('is guided backprop times the upsampled Grad-CAM map', async () => {
    const model = net();
    const img = seededImage([4, 4, 1], 37);
    const r = await guidedGradCam(model, img, { target: 2, layer: 'relu1' });
    const gb = await guidedBackprop(model, img, { target: 2 });
    const cam = await gradCam(model, img, { target: 2, layer: 'relu1' });
    const expected = tf.tidy(() => tf.mul(gb.raw, tf.expandDims(upsample(cam.map, [4, 4]), -1)));
    expectClose(await r.raw.data(), await expected.data(), 1e-6);
    expectClose(await r.cam.data(), await cam.map.data(), 0);
    expect(r.map.shape).toEqual([4, 4]);
    [r, gb, cam].forEach((a) => a.dispose());
    expected.dispose();
    await expectNoLeak(async () => (await guidedGradCam(model, img, { target: 0 })).dispose());
    img.dispose();
    model.dispose();
  });
});
