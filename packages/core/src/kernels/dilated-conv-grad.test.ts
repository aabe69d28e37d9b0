import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dilateFilter } from './conv-ops.js';
import { registerKernelFixes } from './index.js';
import { inputOnlyConv2d, inputOnlyDepthwiseConv2d } from './input-only-conv.js';
import { randomArray, relErr, seeded } from './test-util.js';
import { fusedInputOnlyConv2d, type FusedInputConvActivation } from './webgpu-fused-input-conv.js';
import { describeNeeding } from '../test-support/needs.js';
import { webgpuRequirement } from './webgpu-test-setup.js';

// Input gradients of dilated convolutions (tfjs refuses them) on every backend, against two references computed on
// cpu: the undilated convolution with the zero-inserted filter (stock tfjs gradient), and central differences.

const gpu = await webgpuRequirement();

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.tensor(randomArray(tf.util.sizeFromShape(shape), seeded(seed)), shape);
}

type Kind = 'conv' | 'depthwise' | 'separable';
interface Case {
  kind: Kind;
  path: 'ops' | 'fused';
  dil: [number, number];
  pad: 'same' | 'valid';
  act: FusedInputConvActivation;
  mult?: number;
}

const cases: Case[] = [
  { kind: 'conv', path: 'ops', dil: [2, 2], pad: 'same', act: 'relu' },
  { kind: 'conv', path: 'ops', dil: [2, 3], pad: 'valid', act: 'linear' },
  { kind: 'conv', path: 'fused', dil: [2, 2], pad: 'same', act: 'relu6' },
  { kind: 'conv', path: 'fused', dil: [3, 2], pad: 'valid', act: 'linear' },
  { kind: 'depthwise', path: 'ops', dil: [2, 2], pad: 'same', act: 'relu', mult: 2 },
  { kind: 'depthwise', path: 'fused', dil: [2, 2], pad: 'same', act: 'relu', mult: 1 },
  { kind: 'depthwise', path: 'fused', dil: [3, 3], pad: 'valid', act: 'linear', mult: 2 },
  { kind: 'separable', path: 'ops', dil: [2, 2], pad: 'same', act: 'relu', mult: 1 },
  { kind: 'separable', path: 'fused', dil: [2, 2], pad: 'same', act: 'relu6', mult: 2 },
];

const C = 3;
function weightsOf(c: Case) {
  const dw = rand([3, 3, C, c.mult ?? 1], 2) as tf.Tensor4D;
  const full = rand([3, 3, C, 4], 3) as tf.Tensor4D;
  const pw = rand([1, 1, C * (c.mult ?? 1), 4], 4) as tf.Tensor4D;
  return { dw, full, pw, bias: rand([c.kind === 'depthwise' ? C * (c.mult ?? 1) : 4], 5) as tf.Tensor1D };
}

/** The case under test: cnnviz's dilated path. */
function ours(c: Case, x: tf.Tensor4D, w: ReturnType<typeof weightsOf>): tf.Tensor4D {
  const o = { strides: 1, pad: c.pad, dilations: c.dil, activation: c.act } as const;
  const conv = (t: tf.Tensor4D, f: tf.Tensor4D, depthwise: boolean, bias?: tf.Tensor1D) =>
    c.path === 'fused'
      ? fusedInputOnlyConv2d(t, f, { ...o, depthwise, bias })
      : (depthwise ? inputOnlyDepthwiseConv2d : inputOnlyConv2d)(t, f, { ...o, bias });
  if (c.kind === 'conv') return conv(x, w.full, false, w.bias);
  if (c.kind === 'depthwise') return conv(x, w.dw, true, w.bias);
  const d = conv(x, w.dw, true);
  return inputOnlyConv2d(d, w.pw, { strides: 1, pad: 'valid', bias: w.bias });
}

function act(y: tf.Tensor4D, a: FusedInputConvActivation): tf.Tensor4D {
  return a === 'relu' ? tf.relu(y) : a === 'relu6' ? tf.relu6(y) : y;
}

/** Reference: stock undilated ops on the zero-inserted filter (tfjs differentiates these). */
function reference(c: Case, x: tf.Tensor4D, w: ReturnType<typeof weightsOf>): tf.Tensor4D {
  const [dh, dw] = c.dil;
  if (c.kind === 'conv')
    return act(tf.add(tf.conv2d(x, dilateFilter(w.full, dh, dw), 1, c.pad), w.bias), c.act);
  const d = tf.depthwiseConv2d(x, dilateFilter(w.dw, dh, dw), 1, c.pad);
  if (c.kind === 'depthwise') return act(tf.add(d, w.bias), c.act);
  return tf.add(tf.conv2d(act(d, c.act), w.pw, 1, 'valid'), w.bias);
}

/** cnnviz's dilated path on `backend` against the stock gradient of the undilated conv with the zero-inserted filter. */
async function matchesZeroInsertedReference(backend: string, c: Case): Promise<void> {
  await tf.setBackend('cpu');
  const xv = randomArray(2 * 11 * 10 * C, seeded(7));
  const shape = tf.tidy(() => reference(c, tf.tensor4d(xv, [2, 11, 10, C]), weightsOf(c)).shape);
  const objective = (f: (x: tf.Tensor4D) => tf.Tensor4D, probe: tf.Tensor) => (t: tf.Tensor) =>
    tf.sum(tf.mul(f(t as tf.Tensor4D), probe));
  const wantT = tf.tidy(() => {
    const w = weightsOf(c);
    return tf.grad(objective((x) => reference(c, x, w), rand(shape, 9)))(tf.tensor4d(xv, [2, 11, 10, C]));
  });
  const want = (await wantT.data()) as Float32Array;
  wantT.dispose();

  await tf.setBackend(backend);
  registerKernelFixes(backend);
  const w = weightsOf(c);
  const x = tf.tensor4d(xv, [2, 11, 10, C]);
  const probe = rand(shape, 9);
  const f = objective((t) => ours(c, t, w), probe);
  const before = tf.memory().numTensors;
  const got = tf.grad(f)(x);
  expect(tf.memory().numTensors).toBe(before + 1);
  expect(relErr((await got.data()) as Float32Array, want)).toBeLessThan(2e-5);
  tf.dispose([got, x, probe, w.dw, w.full, w.pw, w.bias]);
}

describe('input gradients of dilated convolutions', () => {
  it('the zero-inserted filter gives the dilated convolution (the identity the gradients rest on)', async () => {
    await tf.setBackend('cpu');
    const x = rand([1, 9, 10, C], 1) as tf.Tensor4D;
    const f = rand([3, 2, C, 4], 2) as tf.Tensor4D;
    const big = dilateFilter(f, 2, 3);
    expect(big.shape).toEqual([5, 4, C, 4]);
    const a = tf.conv2d(x, f, 1, 'same', 'NHWC', [2, 3]);
    const b = tf.conv2d(x, big, 1, 'same');
    expect(relErr(await a.data(), await b.data())).toBeLessThan(1e-6);
    tf.dispose([x, f, big, a, b]);
  });

  for (const backend of ['cpu', 'wasm']) {
    it.each(cases)(
      `${backend}: $kind ($path) dilation $dil $pad $act: gradient = undilated conv on the zero-inserted filter`,
      (c) => matchesZeroInsertedReference(backend, c),
    );
  }

  it.each(cases.filter((c) => c.act === 'linear' || c.kind === 'separable'))(
    'cpu: $kind ($path) dilation $dil $pad $act: gradient = central differences',
    async (c) => {
      await tf.setBackend('cpu');
      const w = weightsOf(c);
      const x = rand([1, 9, 8, C], 11) as tf.Tensor4D;
      const probe = rand(
        tf.tidy(() => ours(c, x, w).shape),
        12,
      );
      const f = (t: tf.Tensor) => tf.sum(tf.mul(ours(c, t as tf.Tensor4D, w), probe));
      const g = tf.grad(f)(x).dataSync();
      const xs = x.dataSync();
      const rng = seeded(13);
      const eps = 1e-2;
      for (let k = 0; k < 12; k++) {
        const i = Math.floor(rng() * xs.length);
        const at = (d: number) => {
          const v = Float32Array.from(xs);
          v[i] += d;
          return tf.tidy(() => f(tf.tensor4d(v, x.shape)).dataSync()[0]);
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(fd - g[i])).toBeLessThan(2e-2 * Math.max(1, Math.abs(g[i])));
      }
      tf.dispose([x, probe, w.dw, w.full, w.pw, w.bias]);
    },
  );
});

describeNeeding(gpu, 'input gradients of dilated convolutions on webgpu', () => {
  it.each(cases)(
    'webgpu: $kind ($path) dilation $dil $pad $act: gradient = undilated conv on the zero-inserted filter',
    (c) => matchesZeroInsertedReference('webgpu', c),
  );
});
