import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { expect, it } from 'vitest';
import { guidedOverrides } from '../overrides/guided-relu.js';
import { withGradientOverrides } from '../overrides.js';
import { createRng } from '../random.js';
import { kernelFixNames, registerKernelFixes, unregisterKernelFixes } from './index.js';
import { counterNormal } from './webgpu-counter-noise.js';
import { reduceChannels } from './webgpu-reduce-channels.js';
import {
  fusedInputOnlyConv2d,
  type FusedInputConvOptions,
  POINTWISE_DX_MATMUL_FLAG,
} from './webgpu-fused-input-conv.js';
import { describeNeeding } from '../test-support/needs.js';
import { relErr, webgpuRequirement } from './webgpu-test-setup.js';

// WebGPU kernels and gradients in Node on Dawn (lavapipe in CI): cnnviz's webgpu kernel fixes against the cpu
// backend, finite differences on webgpu, guided backprop through webgpu kernels, and no leaks. Skipped only
// where no WebGPU adapter can be created. Shapes are small: lavapipe compiles every shader on the CPU.

const gpu = await webgpuRequirement();

function values(n: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => scale * (2 * rng() - 1));
}

function input(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(
    values(
      shape.reduce((a, b) => a * b, 1),
      seed,
      scale,
    ),
    shape,
  );
}

/** Runs `fn` on cpu (stock kernels), then on webgpu (with cnnviz's fixes); returns the values of both. */
async function onBoth(fn: () => tf.Tensor[]): Promise<{ cpu: Float32Array[]; gpu: Float32Array[] }> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const outs = tf.tidy(fn);
    const vals = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
    tf.dispose(outs);
    return vals;
  };
  unregisterKernelFixes('cpu');
  const cpu = await run('cpu');
  registerKernelFixes('webgpu');
  const gpuVals = await run('webgpu');
  return { cpu, gpu: gpuVals };
}

function expectClose(r: { cpu: Float32Array[]; gpu: Float32Array[] }, tol = 1e-4): void {
  r.cpu.forEach((c, i) => {
    expect(r.gpu[i].length).toBe(c.length);
    expect(relErr(c, r.gpu[i])).toBeLessThan(tol);
  });
}

// Reference for fusedInputOnlyConv2d: the same function from separate stock ops.
function unfusedConv(x: tf.Tensor4D, filter: tf.Tensor4D, o: FusedInputConvOptions): tf.Tensor4D {
  const s = o.strides ?? 1;
  let y = o.depthwise
    ? tf.depthwiseConv2d(x, filter, s, o.pad as 'same')
    : tf.conv2d(x, filter, s, o.pad as 'same');
  if (o.bias) y = tf.add(y, o.bias);
  if (o.activation === 'relu') return tf.relu(y);
  if (o.activation === 'relu6') return tf.relu6(y);
  return y;
}

describeNeeding(gpu, `webgpu kernels and gradients on Dawn`, () => {
  it('registerKernelFixes("webgpu") installs every webgpu fix, idempotently', async () => {
    await tf.setBackend('webgpu');
    expect(registerKernelFixes('webgpu')).toEqual(kernelFixNames('webgpu'));
    expect(registerKernelFixes('webgpu')).toEqual(kernelFixNames('webgpu'));
    expect(kernelFixNames('webgpu')).toEqual(
      expect.arrayContaining([
        'webgpu:Conv2DBackpropFilter',
        'webgpu:DepthwiseConv2dNativeBackpropInput',
        'webgpu:DepthwiseConv2dNativeBackpropFilter',
        'webgpu:CnnvizReduceChannels',
        'webgpu:CnnvizConv2DBackpropInputMasked',
      ]),
    );
  });

  it('Conv2DBackpropFilter (matmul per tap) equals cpu: strides, padding, 1x1 and 3x3', async () => {
    const cases: [number[], number[], number, 'same' | 'valid'][] = [
      [[2, 7, 7, 3], [3, 3, 3, 4], 1, 'same'],
      [[1, 8, 8, 4], [3, 3, 4, 8], 2, 'same'],
      [[2, 5, 5, 8], [1, 1, 8, 4], 1, 'valid'],
      [[1, 9, 9, 2], [2, 2, 2, 4], 2, 'valid'],
    ];
    for (const [xs, ws, s, pad] of cases) {
      const r = await onBoth(() => {
        const x = input(xs, 1) as tf.Tensor4D;
        const w = input(ws, 2) as tf.Tensor4D;
        const up = input(tf.conv2d(x, w, s, pad).shape, 3);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad), up)),
        )([x, w]);
        return [dx, dw];
      });
      expectClose(r);
    }
  });

  it('depthwise input and filter gradients equal cpu (stride 1/2, explicit padding, C not a multiple of 4)', async () => {
    const cases: [number[], number, FusedInputConvOptions['pad']][] = [
      [[2, 6, 6, 8], 1, 'same'],
      [[1, 7, 7, 8], 2, 'same'],
      [
        [1, 8, 8, 4],
        2,
        [
          [0, 0],
          [0, 1],
          [0, 1],
          [0, 0],
        ],
      ],
      [[1, 5, 5, 6], 1, 'valid'],
    ];
    for (const [xs, s, pad] of cases) {
      const r = await onBoth(() => {
        const x = input(xs, 4) as tf.Tensor4D;
        const w = input([3, 3, xs[3], 1], 5) as tf.Tensor4D;
        const f = (a: tf.Tensor, b: tf.Tensor) =>
          tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, pad as 'same');
        const up = input(f(x, w).shape, 6);
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a, b), up)))([x, w]);
        return [dx, dw];
      });
      expectClose(r);
    }
  });

  it('reduceChannels: one webgpu dispatch equals tf.max(tf.abs)/tf.sum on cpu (C = 1, 3, 5), NaN propagates', async () => {
    for (const shape of [
      [2, 5, 7, 3],
      [1, 4, 4, 5],
      [3, 6, 1],
    ]) {
      for (const op of ['maxAbs', 'sum'] as const) {
        await tf.setBackend('cpu');
        const ref = tf.tidy(() => {
          const x = input(shape, 11, 3);
          return op === 'maxAbs' ? tf.max(tf.abs(x), -1) : tf.sum(x, -1);
        });
        const want = (await ref.data()) as Float32Array;
        ref.dispose();
        registerKernelFixes('webgpu');
        await tf.setBackend('webgpu');
        const before = tf.memory().numTensors;
        const got = tf.tidy(() => reduceChannels(input(shape, 11, 3), op));
        expect(got.shape).toEqual(shape.slice(0, -1));
        expect(relErr(want, (await got.data()) as Float32Array)).toBeLessThan(1e-6);
        got.dispose();
        expect(tf.memory().numTensors).toBe(before);
      }
    }
    // NaN in any channel gives NaN for that pixel, as tf.max does; the others are untouched.
    const x = tf.tensor3d([1, -4, NaN, 2, -3, 0.5], [1, 2, 3]);
    const m = reduceChannels(x, 'maxAbs');
    const v = await m.data();
    expect(Number.isNaN(v[0])).toBe(true);
    expect(v[1]).toBe(3);
    tf.dispose([x, m]);
  });

  it('fusedInputOnlyConv2d: one fused forward, input gradient (masked kernels on webgpu) equals the unfused cpu gradient', async () => {
    const cases: [number[], number[], FusedInputConvOptions][] = [
      [[1, 6, 6, 4], [1, 1, 4, 8], { pad: 'same', activation: 'relu6' }],
      [[2, 7, 7, 3], [3, 3, 3, 8], { pad: 'same', strides: 2, activation: 'relu' }],
      [[1, 6, 6, 8], [3, 3, 8, 1], { pad: 'same', activation: 'relu6', depthwise: true }],
      [
        [1, 8, 8, 8],
        [3, 3, 8, 1],
        {
          pad: [
            [0, 0],
            [0, 1],
            [0, 1],
            [0, 0],
          ],
          strides: 2,
          activation: 'relu6',
          depthwise: true,
        },
      ],
      [[1, 5, 5, 8], [1, 1, 8, 4], { pad: 'valid', activation: 'linear' }],
      // Spatial convs (the masked full-conv input gradient): valid/linear, and stride 2 with uneven padding.
      [[1, 6, 6, 5], [3, 3, 5, 4], { pad: 'valid', activation: 'linear' }],
      [
        [1, 9, 9, 3],
        [3, 3, 3, 8],
        {
          pad: [
            [0, 0],
            [1, 0],
            [0, 1],
            [0, 0],
          ],
          strides: 2,
          activation: 'relu6',
        },
      ],
    ];
    for (const matmul of [false, true]) {
      tf.env().set(POINTWISE_DX_MATMUL_FLAG, matmul);
      for (const [xs, ws, o] of cases) {
        // With the flag, only the 1x1 convs take another path (their input gradient as one matmul).
        if (matmul && (o.depthwise || ws[0] !== 1 || ws[1] !== 1)) continue;
        const cout = o.depthwise ? ws[2] : ws[3];
        const make = () => {
          // Scaled so that ReLU6 both clips (> 6) and passes.
          const x = input(xs, 7, 4) as tf.Tensor4D;
          const w = input(ws, 8) as tf.Tensor4D;
          const bias = input([cout], 9) as tf.Tensor1D;
          return { x, w, opts: { ...o, bias } };
        };
        // cpu: unfused stock ops (the reference); webgpu: the fused op.
        await tf.setBackend('cpu');
        const ref = tf.tidy(() => {
          const { x, w, opts } = make();
          const up = input(unfusedConv(x, w, opts).shape, 10);
          return [
            unfusedConv(x, w, opts),
            tf.grad((a: tf.Tensor) => tf.sum(tf.mul(unfusedConv(a as tf.Tensor4D, w, opts), up)))(x),
          ];
        });
        const refVals = await Promise.all(ref.map((t) => t.data() as Promise<Float32Array>));
        tf.dispose(ref);
        registerKernelFixes('webgpu');
        await tf.setBackend('webgpu');
        const got = tf.tidy(() => {
          const { x, w, opts } = make();
          const y = fusedInputOnlyConv2d(x, w, opts);
          const up = input(y.shape, 10);
          return [
            y,
            tf.grad((a: tf.Tensor) => tf.sum(tf.mul(fusedInputOnlyConv2d(a as tf.Tensor4D, w, opts), up)))(x),
          ];
        });
        const gotVals = await Promise.all(got.map((t) => t.data() as Promise<Float32Array>));
        tf.dispose(got);
        expect(relErr(refVals[0], gotVals[0])).toBeLessThan(1e-5);
        expect(relErr(refVals[1], gotVals[1])).toBeLessThan(1e-5);
      }
    }
    tf.env().set(POINTWISE_DX_MATMUL_FLAG, false);
  });

  it('gradients on webgpu match central finite differences: conv, max-pool over negative windows, depthwise, dense', async () => {
    registerKernelFixes('webgpu');
    await tf.setBackend('webgpu');
    // Linear in x (conv, depthwise, dense) so any step is exact up to rounding; the max-pool input is a
    // shuffled ladder of negative values 0.1 apart, so a 0.01 step never changes which element wins.
    const rng = createRng(11);
    const ladder = Array.from({ length: 2 * 6 * 6 * 2 }, (_, i) => -0.1 * (i + 1)).sort(() => rng() - 0.5);
    const cases: {
      name: string;
      shape: number[];
      x: () => tf.Tensor;
      f: (x: tf.Tensor) => tf.Tensor;
      step: number;
    }[] = [
      {
        name: 'conv',
        shape: [1, 6, 6, 3],
        x: () => input([1, 6, 6, 3], 12),
        f: (x) => tf.conv2d(x as tf.Tensor4D, input([3, 3, 3, 4], 13) as tf.Tensor4D, 2, 'same'),
        step: 0.25,
      },
      {
        name: 'maxpool',
        shape: [2, 6, 6, 2],
        x: () => tf.tensor(ladder, [2, 6, 6, 2]),
        f: (x) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid'),
        step: 0.01,
      },
      {
        name: 'depthwise',
        shape: [1, 6, 6, 4],
        x: () => input([1, 6, 6, 4], 14),
        f: (x) => tf.depthwiseConv2d(x as tf.Tensor4D, input([3, 3, 4, 1], 15) as tf.Tensor4D, 1, 'same'),
        step: 0.25,
      },
      {
        name: 'dense',
        shape: [3, 10],
        x: () => input([3, 10], 16),
        f: (x) => tf.matMul(x as tf.Tensor2D, input([10, 5], 17) as tf.Tensor2D),
        step: 0.25,
      },
    ];
    for (const c of cases) {
      const x = c.x();
      const up = tf.tidy(() => input(c.f(x).shape, 18));
      const objective = (t: tf.Tensor) => tf.sum(tf.mul(c.f(t), up));
      const grad = tf.grad(objective)(x);
      const g = await grad.data();
      const xs = await x.data();
      const n = xs.length;
      const picks = Array.from({ length: 8 }, (_, i) => Math.floor(((i + 0.5) / 8) * n));
      let maxErr = 0;
      let scale = 0;
      for (const i of picks) {
        const at = async (d: number) => {
          const shifted = Float32Array.from(xs);
          shifted[i] += d;
          const v = tf.tidy(() => objective(tf.tensor(shifted, c.shape)));
          const out = (await v.data())[0];
          v.dispose();
          return out;
        };
        const fd = ((await at(c.step)) - (await at(-c.step))) / (2 * c.step);
        maxErr = Math.max(maxErr, Math.abs(fd - g[i]));
        scale = Math.max(scale, Math.abs(g[i]));
      }
      expect(scale, c.name).toBeGreaterThan(0);
      expect(maxErr / scale, c.name).toBeLessThan(1e-3);
      tf.dispose([x, up, grad]);
    }
  });

  it('guided-backprop overrides act on webgpu kernels (unfused ReLU and fusedInputOnlyConv2d) and match cpu', async () => {
    const net = (x: tf.Tensor4D, fused: boolean) => {
      const w1 = input([3, 3, 3, 6], 20) as tf.Tensor4D;
      const w2 = input([3, 3, 6, 4], 21) as tf.Tensor4D;
      const b1 = input([6], 22, 0.2) as tf.Tensor1D;
      const h = fused
        ? fusedInputOnlyConv2d(x, w1, { bias: b1, pad: 'same', activation: 'relu' })
        : tf.relu(tf.add(tf.conv2d(x, w1, 1, 'same'), b1));
      return tf.sum(tf.relu(tf.conv2d(h as tf.Tensor4D, w2, 1, 'same')));
    };
    const grads = (fused: boolean, guided: boolean) => {
      const x = input([1, 6, 6, 3], 23) as tf.Tensor4D;
      const g = () => tf.grad((t: tf.Tensor) => net(t as tf.Tensor4D, fused))(x);
      return guided ? withGradientOverrides(guidedOverrides, g) : g();
    };
    const r = await onBoth(() => [grads(false, true), grads(true, true), grads(false, false)]);
    expectClose(r, 1e-5);
    const [guidedUnfused, guidedFused, plain] = r.gpu;
    expect(relErr(guidedUnfused, guidedFused)).toBeLessThan(1e-5);
    // The override took effect: guided differs from the plain gradient.
    expect(relErr(plain, guidedUnfused)).toBeGreaterThan(1e-2);
  });

  it("counterNormal: the webgpu kernel draws the JS generator's values; N(0,1) moments; offsets concatenate", async () => {
    await tf.setBackend('cpu');
    const js = (await counterNormal([4096], 42).data()) as Float32Array;
    registerKernelFixes('webgpu');
    await tf.setBackend('webgpu');
    const t = counterNormal([4096], 42);
    const g = (await t.data()) as Float32Array;
    t.dispose();
    let maxDiff = 0;
    for (let i = 0; i < js.length; i++) maxDiff = Math.max(maxDiff, Math.abs(js[i] - g[i]));
    expect(maxDiff).toBeLessThan(1e-4);
    const mean = g.reduce((a, b) => a + b, 0) / g.length;
    const variance = g.reduce((a, b) => a + (b - mean) ** 2, 0) / g.length;
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(variance - 1)).toBeLessThan(0.08);
    const tail = counterNormal([1000], 42, { offset: 3096 });
    expect(relErr(js.subarray(3096), (await tail.data()) as Float32Array)).toBeLessThan(1e-4);
    tail.dispose();
    const other = counterNormal([4096], 43);
    expect(relErr(g, (await other.data()) as Float32Array)).toBeGreaterThan(0.5);
    other.dispose();
  });

  it('no tensor or GPU-memory leaks: 100 input-gradient calls through the fused and fixed kernels', async () => {
    registerKernelFixes('webgpu');
    await tf.setBackend('webgpu');
    const w1 = input([3, 3, 3, 8], 30) as tf.Tensor4D;
    const w2 = input([3, 3, 8, 1], 31) as tf.Tensor4D;
    const x = input([2, 8, 8, 3], 32) as tf.Tensor4D;
    const step = async () => {
      const g = tf.tidy(() =>
        tf.grad((t: tf.Tensor) => {
          const h = fusedInputOnlyConv2d(t as tf.Tensor4D, w1, { pad: 'same', activation: 'relu6' });
          const d = fusedInputOnlyConv2d(h, w2, {
            pad: 'same',
            strides: 2,
            activation: 'relu6',
            depthwise: true,
          });
          return tf.sum(tf.maxPool(d, 2, 2, 'valid'));
        })(x),
      );
      await g.data();
      g.dispose();
    };
    await step();
    const before = tf.memory();
    for (let i = 0; i < 100; i++) await step();
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
    tf.dispose([w1, w2, x]);
  });
});
