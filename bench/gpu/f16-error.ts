import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import {
  F16_ACCUMULATE_FLAG,
  F16_GRADIENTS_FLAG,
  resize,
  setWebgpuPrecision,
  type VisionModel,
} from '@cnnviz/core';
import { fromLayersModel, images, setAssetBase, zoo } from '@cnnviz/models';
import { gradCam, saliency, smoothGrad, spearman } from '@cnnviz/attribution';
import { buildMobileNetV2 } from './mobilenet-v2.js';

// What half precision costs in accuracy (issue 21, item 2): saliency, SmoothGrad and Grad-CAM maps with cnnviz's
// shader-f16 convolution kernels (`setWebgpuPrecision('float16')`, the `precision: 'float16'` option) against the
// float32 maps of the same model, image and seed. Where the device lacks shader-f16 (the H200's Vulkan adapter did
// not offer it on 2026-11-26) it falls back to an emulation: every fused conv output rounded to the nearest f16 in
// place (integer bit arithmetic on the f32: pack2x16float/unpack2x16float were folded away on lavapipe), all
// arithmetic f32 — what f16 activation storage alone would cost.

// Forward-only kernels of the library's path (the engine accumulates gradients with Add, so adds stay f32).
const WRAPPED = ['FusedConv2D', 'FusedDepthwiseConv2D'];

interface Backend extends tf.KernelBackend {
  runWebGPUProgram(p: object, inputs: tf.TensorInfo[], dtype: tf.DataType): tf.TensorInfo;
}

class RoundF16Program {
  variableNames = ['x'];
  outputShape: number[];
  shaderKey = 'cnnvizRoundF16';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;
  constructor(shape: number[]) {
    this.outputShape = shape;
    this.dispatchLayout = { x: shape.map((_, i) => i) };
    this.dispatch = [Math.ceil(shape.reduce((a, b) => a * b, 1) / 64), 1, 1];
  }
  getUserCode() {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          // Round-to-nearest-even to f16: 10 mantissa bits, and below 2^-14 f16's subnormal grid 2^-24 (no overflow
          // to inf above 65504: MobileNetV2's activations stay far below it).
          let v = x[index];
          let u = bitcast<u32>(v);
          var r = bitcast<f32>((u + 0xFFFu + ((u >> 13u) & 1u)) & 0xFFFFE000u);
          if (abs(v) < 6.103515625e-5) { r = round(v * 16777216.0) / 16777216.0; }
          result[index] = r;
        }
      }`;
  }
}

/** Runs `fn` with the outputs of the activation-producing webgpu kernels rounded to f16. */
async function withF16Activations<T>(fn: () => Promise<T>): Promise<T> {
  const saved = WRAPPED.map((name) => tf.getKernel(name, 'webgpu')).filter(
    (k): k is tf.KernelConfig => k !== undefined,
  );
  for (const k of saved) {
    tf.unregisterKernel(k.kernelName, 'webgpu');
    tf.registerKernel({
      ...k,
      kernelFunc: (args) => {
        const out = k.kernelFunc(args) as tf.TensorInfo;
        if (out.dtype !== 'float32') return out;
        const backend = args.backend as Backend;
        const r = backend.runWebGPUProgram(new RoundF16Program(out.shape), [out], 'float32');
        backend.disposeData(out.dataId);
        return r;
      },
    });
  }
  try {
    return await fn();
  } finally {
    for (const k of saved) {
      tf.unregisterKernel(k.kernelName, 'webgpu');
      tf.registerKernel(k);
    }
  }
}

/** Which f16 configuration: the accumulator, and whether the input-gradient kernels are f16 too. */
export interface F16Variant {
  accumulate: 'float32' | 'float16';
  gradients: boolean;
}

/** Runs `fn` with cnnviz's f16 kernels on in configuration `v`. */
async function withF16Kernels<T>(v: F16Variant, fn: () => Promise<T>): Promise<T> {
  const old = [tf.env().get(F16_ACCUMULATE_FLAG), tf.env().get(F16_GRADIENTS_FLAG)];
  tf.env().set(F16_ACCUMULATE_FLAG, v.accumulate);
  tf.env().set(F16_GRADIENTS_FLAG, v.gradients);
  try {
    const on = setWebgpuPrecision('float16');
    if (on.precision !== 'float16') throw new Error(on.why);
    return await fn();
  } finally {
    setWebgpuPrecision('float32');
    tf.env().set(F16_ACCUMULATE_FLAG, old[0]);
    tf.env().set(F16_GRADIENTS_FLAG, old[1]);
  }
}

/** Whether cnnviz's f16 kernels can run on the active backend, and why not. */
export function f16KernelsAvailable(): { ok: boolean; why: string } {
  const on = setWebgpuPrecision('float16');
  setWebgpuPrecision('float32');
  return { ok: on.precision === 'float16', why: on.why };
}

// Core's relErr lives in its test helpers, which load vitest: not in a bundle.
function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(a[i]));
  }
  return den === 0 ? num : num / den;
}

/** Share of the f32 map's top `q` pixels that are also among the f16 map's top `q`. */
function topOverlap(a: Float32Array, b: Float32Array, q = 0.05): number {
  const k = Math.max(1, Math.round(a.length * q));
  const top = (m: Float32Array) =>
    new Set(
      Array.from(m.keys())
        .sort((i, j) => m[j] - m[i])
        .slice(0, k),
    );
  const ta = top(a);
  let n = 0;
  for (const i of top(b)) if (ta.has(i)) n++;
  return n / k;
}

export interface MapError {
  /** max |f16 - f32| / max |f32| */
  relErr: number;
  spearman: number;
  /** Share of the top 5 % pixels shared. */
  top5: number;
}

function mapError(a: Float32Array, b: Float32Array): MapError {
  return { relErr: relErr(a, b), spearman: spearman(a, b), top5: topOverlap(a, b) };
}

export interface F16Error {
  model: string;
  /** 'kernels': cnnviz's shader-f16 kernels; 'emulated': f16-rounded activations, f32 arithmetic (no shader-f16). */
  mode: 'kernels' | 'emulated';
  variant?: F16Variant;
  why: string;
  saliency: MapError;
  smoothGrad: MapError & { samples: number };
  gradCam: MapError;
}

/**
 * Run from the packed bundle (.gpu/run.mjs, in the repository root of a device run), the zoo's weight package is
 * in the working tree but not where Node resolves packages from the bundle: link it into .gpu/node_modules, and
 * point the asset base at the tree's photos.
 */
function linkZooWeights(): void {
  const here = dirname(fileURLToPath(import.meta.url));
  const pkg = resolve('packages/zoo-mobilenet-v2');
  const link = join(here, 'node_modules/@cnnviz/zoo-mobilenet-v2');
  if (basename(here) !== '.gpu') return;
  // The bundled photos too: the bundle looks for them beside itself.
  if (existsSync(resolve('packages/models/assets/images')))
    setAssetBase(pathToFileURL(resolve('packages/models/assets/')));
  if (!existsSync(join(pkg, 'package.json')) || existsSync(link)) return;
  try {
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(pkg, link, 'dir');
  } catch {
    // Then the random-weight fallback says so.
  }
}

/** Trained MobileNetV2 and the cat photo where the working tree has them, else random weights and noise. */
export async function f16Error(
  size: number,
  samples: number,
  variant: F16Variant = { accumulate: 'float32', gradients: true },
): Promise<F16Error> {
  let model: VisionModel;
  let what: string;
  let image: tf.Tensor3D;
  let dispose: () => void;
  linkZooWeights();
  try {
    model = await zoo.mobilenetV2Features({ inputSize: 224 });
    const cat = await images.load('chelsea', { channels: 3 });
    image = resize(cat, [224, 224]) as tf.Tensor3D;
    cat.dispose();
    what = 'MobileNetV2 (trained, zoo), chelsea 224px';
    dispose = () => image.dispose();
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    const spec = buildMobileNetV2(size, 1000);
    model = fromLayersModel(spec.model);
    image = tf.randomUniform([size, size, 3], 0, 1, 'float32', 14) as tf.Tensor3D;
    what = `MobileNetV2 (random weights; no zoo model here: ${why}), noise ${size}px`;
    dispose = () => {
      image.dispose();
      spec.model.dispose();
    };
  }
  // The most active output (the zoo's feature model ends in ReLU'd pooled features: most are 0 on one image).
  const best = tf.tidy(() => tf.argMax(model.forward(model.preprocess(image)).logits as tf.Tensor2D, 1));
  const target = (await best.data())[0];
  best.dispose();
  const maps = async () => {
    const out: Float32Array[] = [];
    for (const r of [
      await saliency(model, image, { target }),
      await smoothGrad(model, image, { target, samples, seed: 1 }),
      await gradCam(model, image, { target, layer: 'out_relu' }),
    ]) {
      out.push((await r.map.data()) as Float32Array);
      r.dispose();
    }
    return out;
  };
  const [s32, g32, c32] = await maps();
  const can = f16KernelsAvailable();
  const [s16, g16, c16] = can.ok ? await withF16Kernels(variant, maps) : await withF16Activations(maps);
  dispose();
  return {
    model: what,
    mode: can.ok ? 'kernels' : 'emulated',
    ...(can.ok ? { variant } : {}),
    why: can.ok ? "cnnviz's shader-f16 kernels" : can.why,
    saliency: mapError(s32, s16),
    smoothGrad: { samples, ...mapError(g32, g16) },
    gradCam: mapError(c32, c16),
  };
}
