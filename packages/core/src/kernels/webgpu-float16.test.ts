import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it } from 'vitest';
import { createRng } from '../random.js';
import { describeNeeding } from '../test-support/needs.js';
import { registerKernelFixes } from './index.js';
import {
  activePrecision,
  F16_ACCUMULATE_FLAG,
  F16_GRADIENTS_FLAG,
  setWebgpuPrecision,
} from './webgpu-float16.js';
import { fusedInputOnlyConv2d } from './webgpu-fused-input-conv.js';
import { CONV_DX_MASKED_KERNEL, DEPTHWISE_DX_MASKED_KERNEL } from './webgpu-kernel-fixes.js';
import { webgpuRequirement } from './webgpu-test-setup.js';

// The half-precision kernels on Dawn (lavapipe offers shader-f16): each against the cpu backend in f32, element by
// element within the rounding-error bound of a dot product whose operands are rounded to f16 (unit roundoff
// u = 2^-11): |f16 - exact| <= (K + 3) u * sum_i |x_i w_i| for K products summed in f16 (two operand roundings,
// one per product, one per addition, one for the bias); f32 accumulation is well inside it. Each test also checks
// that the result differs from the f32 kernels' (f16 really ran).

const gpu = await webgpuRequirement();
const U = 2 ** -11;

function input(shape: number[], seed: number, lo = -1, hi = 1): tf.Tensor {
  const rng = createRng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => lo + (hi - lo) * rng()),
    shape,
  );
}

async function on(backend: string, fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = tf.tidy(fn);
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

/** Runs `fn` with f32 kernels, then f16 ones, on webgpu; the cpu result and its |.| twin give value and bound. */
async function compare(
  k: number,
  exact: () => tf.Tensor,
  magnitude: () => tf.Tensor,
  fn: () => tf.Tensor,
): Promise<{ worst: number; f16VsF32: number }> {
  const want = await on('cpu', exact);
  const mag = await on('cpu', magnitude);
  await tf.setBackend('webgpu');
  registerKernelFixes('webgpu');
  setWebgpuPrecision('float32');
  const f32 = await on('webgpu', fn);
  expect(setWebgpuPrecision('float16').precision).toBe('float16');
  const f16 = await on('webgpu', fn);
  setWebgpuPrecision('float32');
  let worst = 0;
  let f16VsF32 = 0;
  for (let i = 0; i < want.length; i++) {
    // The f32 kernels (cnnviz's and tfjs's) are checked too, against a bound 2^9 times tighter.
    expect(Math.abs(f32[i] - want[i])).toBeLessThanOrEqual(((k + 3) * U * mag[i]) / 512 + 1e-6);
    const bound = (k + 3) * U * mag[i] + 1e-6;
    worst = Math.max(worst, Math.abs(f16[i] - want[i]) / bound);
    f16VsF32 = Math.max(f16VsF32, Math.abs(f16[i] - f32[i]));
  }
  expect(f16.length).toBe(want.length);
  return { worst, f16VsF32 };
}

describeNeeding(gpu, 'half-precision (shader-f16) kernels on Dawn', () => {
  afterEach(() => {
    setWebgpuPrecision('float32');
    tf.env().set(F16_ACCUMULATE_FLAG, 'float32');
    tf.env().set(F16_GRADIENTS_FLAG, true);
  });

  it('the device has shader-f16; float16 turns on, float32 and other backends say why not', async () => {
    await tf.setBackend('webgpu');
    const device = (tf.backend() as unknown as { device: { features: Set<string> } }).device;
    expect(device.features.has('shader-f16')).toBe(true);
    const on16 = setWebgpuPrecision('float16');
    expect(on16.precision).toBe('float16');
    expect(on16.why).toMatch(/f16/);
    expect(activePrecision()).toBe('float16');
    expect(setWebgpuPrecision('float32')).toEqual({ precision: 'float32', why: 'float32 (the default)' });
    expect(activePrecision()).toBe('float32');
    await tf.setBackend('cpu');
    const cpu = setWebgpuPrecision('float16');
    expect(cpu.precision).toBe('float32');
    expect(cpu.why).toMatch(/backend "cpu" has no half-precision path/);
  });

  for (const acc of ['float32', 'float16'] as const) {
    it(`fused conv forward (1x1 and 3x3/2 with 3 input channels; bias, ReLU6) within the f16 bound, ${acc} accumulation`, async () => {
      tf.env().set(F16_ACCUMULATE_FLAG, acc);
      const cases: [number[], number[], number, 'relu6' | 'linear'][] = [
        [[2, 5, 5, 16], [1, 1, 16, 8], 1, 'relu6'],
        [[1, 9, 9, 3], [3, 3, 3, 8], 2, 'linear'],
      ];
      for (const [xs, ws, s, activation] of cases) {
        const x = () => input(xs, 1, -3, 3) as tf.Tensor4D;
        const w = () => input(ws, 2) as tf.Tensor4D;
        const b = () => input([ws[3]], 3) as tf.Tensor1D;
        const k = ws[0] * ws[1] * ws[2];
        const r = await compare(
          k,
          () => tf.fused.conv2d({ x: x(), filter: w(), bias: b(), strides: s, pad: 'same', activation }),
          () => tf.add(tf.conv2d(tf.abs(x()), tf.abs(w()), s, 'same'), tf.abs(b())),
          () => tf.fused.conv2d({ x: x(), filter: w(), bias: b(), strides: s, pad: 'same', activation }),
        );
        expect(r.worst).toBeLessThan(1);
        expect(r.f16VsF32).toBeGreaterThan(0);
      }
    });
  }

  it('depthwise forward (C = 8 as vec4, C = 6 scalar; stride 2; bias, ReLU) within the f16 bound', async () => {
    for (const [xs, s] of [
      [[1, 8, 8, 8], 2],
      [[2, 5, 5, 6], 1],
    ] as [number[], number][]) {
      const x = () => input(xs, 4, -3, 3) as tf.Tensor4D;
      const w = () => input([3, 3, xs[3], 1], 5) as tf.Tensor4D;
      const b = () => input([xs[3]], 6) as tf.Tensor1D;
      const r = await compare(
        9,
        () =>
          tf.fused.depthwiseConv2d({
            x: x(),
            filter: w(),
            bias: b(),
            strides: s,
            pad: 'same',
            activation: 'relu',
          }),
        () => tf.add(tf.depthwiseConv2d(tf.abs(x()), tf.abs(w()), s, 'same'), tf.abs(b())),
        () =>
          tf.fused.depthwiseConv2d({
            x: x(),
            filter: w(),
            bias: b(),
            strides: s,
            pad: 'same',
            activation: 'relu',
          }),
      );
      expect(r.worst).toBeLessThan(1);
      expect(r.f16VsF32).toBeGreaterThan(0);
    }
  });

  it('input gradients: masked depthwise, masked 3x3/2 conv, 1x1 conv (Conv2DBackpropInput) within the f16 bound', async () => {
    // The reference is the gradient of sum(conv(x, w) * g) with g = dy masked by ReLU6'(y): the transposed conv.
    const grad = (depthwise: boolean, s: number, w: tf.Tensor4D, g: tf.Tensor4D, xs: number[]) =>
      tf.grad((x: tf.Tensor) =>
        tf.sum(
          tf.mul(
            depthwise
              ? tf.depthwiseConv2d(x as tf.Tensor4D, w, s, 'same')
              : tf.conv2d(x as tf.Tensor4D, w, s, 'same'),
            g,
          ),
        ),
      )(tf.zeros(xs));
    const masked = (dy: tf.Tensor, y: tf.Tensor) =>
      tf.mul(dy, tf.logicalAnd(tf.greater(y, 0), tf.less(y, 6))) as tf.Tensor4D;
    const cases: [boolean, number[], number[], number, string | undefined][] = [
      [true, [1, 8, 8, 8], [3, 3, 8, 1], 2, DEPTHWISE_DX_MASKED_KERNEL],
      [false, [1, 9, 9, 3], [3, 3, 3, 8], 2, CONV_DX_MASKED_KERNEL],
      // Input channels a multiple of 4: four per invocation.
      [false, [1, 7, 7, 8], [3, 3, 8, 4], 1, CONV_DX_MASKED_KERNEL],
      [false, [2, 4, 4, 8], [1, 1, 8, 12], 1, undefined],
    ];
    for (const [depthwise, xs, ws, s, kernel] of cases) {
      const outShape = [xs[0], Math.ceil(xs[1] / s), Math.ceil(xs[2] / s), depthwise ? xs[3] : ws[3]];
      const w = () => input(ws, 7) as tf.Tensor4D;
      const dy = () => input(outShape, 8) as tf.Tensor4D;
      const y = () => input(outShape, 9, -2, 8) as tf.Tensor4D;
      const attrs = { strides: s, pad: 'same', dilations: [1, 1], dataFormat: 'NHWC', inputShape: xs };
      const k = ws[0] * ws[1] * (depthwise ? 1 : ws[3]);
      const r = await compare(
        k,
        () => grad(depthwise, s, w(), kernel ? masked(dy(), y()) : dy(), xs),
        () => grad(depthwise, s, tf.abs(w()), tf.abs(kernel ? masked(dy(), y()) : dy()), xs),
        () =>
          kernel
            ? (tf.engine().runKernel(kernel, { dy: dy(), filter: w(), y: y() }, {
                ...attrs,
                mask: 'relu6',
              } as unknown as tf.NamedAttrMap) as tf.Tensor)
            : (tf
                .engine()
                .runKernel(
                  tf.Conv2DBackpropInput,
                  { dy: dy(), filter: w() },
                  attrs as unknown as tf.NamedAttrMap,
                ) as tf.Tensor),
      );
      expect(r.worst).toBeLessThan(1);
      expect(r.f16VsF32).toBeGreaterThan(0);
    }
  });

  it('CNNVIZ_WEBGPU_F16_GRADIENTS=false: input gradients are the f32 kernels exactly, the forward stays f16', async () => {
    await tf.setBackend('webgpu');
    registerKernelFixes('webgpu');
    const w = input([3, 3, 8, 1], 12) as tf.Tensor4D;
    const x = input([1, 6, 6, 8], 13) as tf.Tensor4D;
    const run = async () => {
      const [y, g] = tf.tidy(() => {
        const f = (t: tf.Tensor) =>
          fusedInputOnlyConv2d(t as tf.Tensor4D, w, { pad: 'same', activation: 'linear', depthwise: true });
        return [f(x), tf.grad((t: tf.Tensor) => tf.sum(tf.mul(f(t), f(t))))(x)];
      });
      const out = [(await y.data()) as Float32Array, (await g.data()) as Float32Array];
      tf.dispose([y, g]);
      return out;
    };
    const [y32] = await run();
    setWebgpuPrecision('float16');
    tf.env().set(F16_GRADIENTS_FLAG, false);
    const [y16, gOnlyForward] = await run();
    // The gradient of sum(y^2) is 2 * W^T y: with f32 gradient kernels it is exactly that of the f16 forward's y.
    setWebgpuPrecision('float32');
    const ref = tf.tidy(() =>
      tf.mul(
        tf.grad((t: tf.Tensor) =>
          tf.sum(tf.mul(tf.depthwiseConv2d(t as tf.Tensor4D, w, 1, 'same'), tf.tensor(y16, [1, 6, 6, 8]))),
        )(x),
        2,
      ),
    );
    expect(Array.from(gOnlyForward)).toEqual(Array.from((await ref.data()) as Float32Array));
    ref.dispose();
    expect(y16).not.toEqual(y32);
    tf.dispose([w, x]);
  });

  it('no tensor or GPU-memory leaks: 20 input gradients through fused convs in f16; float32 restores the stock kernels', async () => {
    await tf.setBackend('webgpu');
    registerKernelFixes('webgpu');
    const stock = tf.getKernel('FusedConv2D', 'webgpu');
    expect(setWebgpuPrecision('float16').precision).toBe('float16');
    expect(tf.getKernel('FusedConv2D', 'webgpu')).not.toBe(stock);
    const w1 = input([3, 3, 3, 8], 30) as tf.Tensor4D;
    const w2 = input([1, 1, 8, 4], 31) as tf.Tensor4D;
    const x = input([1, 8, 8, 3], 32) as tf.Tensor4D;
    const step = async () => {
      const g = tf.tidy(() =>
        tf.grad((t: tf.Tensor) => {
          const h = fusedInputOnlyConv2d(t as tf.Tensor4D, w1, {
            pad: 'same',
            strides: 2,
            activation: 'relu6',
          });
          return tf.sum(fusedInputOnlyConv2d(h, w2, { pad: 'same', activation: 'relu' }));
        })(x),
      );
      await g.data();
      g.dispose();
    };
    await step();
    const before = tf.memory();
    for (let i = 0; i < 20; i++) await step();
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
    tf.dispose([w1, w2, x]);
    setWebgpuPrecision('float32');
    expect(tf.getKernel('FusedConv2D', 'webgpu')).toBe(stock);
  });
});
