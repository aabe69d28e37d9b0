import * as tf from '@tensorflow/tfjs-core';
import { withDerivedWeights } from './derived-weights.js';
import { biasFits, isNHWC, readValues } from './kernel-util.js';
import { isWasmBackend, type WasmBackendLike, wasmMemoryOf, wasmThreadsOf, withOutput } from './wasm-heap.js';
import { EPILOGUE, type GemmFunctions, packPanels, runChunked, simdGemm } from './wasm-simd-gemm.js';
import { wasmThreads } from './wasm-threads.js';
import type { Plan } from './timed-choice.js';
import type { ConvCall } from './wasm-winograd-conv2d.js';

const ACTIVATIONS: Record<string, number> = {
  linear: EPILOGUE.linear,
  relu: EPILOGUE.relu,
  relu6: EPILOGUE.relu6,
};

/** The largest patch matrix built (floats): above it the stock kernel runs. */
const MAX_PATCH_FLOATS = 8 << 20;

/**
 * Writes the patch matrix [N·outH·outW, fh·fw·C] of `x` (NHWC) at float index `dst` of `f32`: row p holds the fh x fw
 * window of output pixel p, tap-major and channels last, i.e. the layout of the filter [fh, fw, C, K] read as
 * [fh·fw·C, K]; taps outside the image are zero. A tap row of an undilated filter is one contiguous run of x.
 */
function im2col(f32: Float32Array, src: number, dst: number, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const row = fh * fw * c;
  let p = dst;
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++, p += row) {
        const x0 = ox * sw - left;
        for (let i = 0; i < fh; i++) {
          const iy = oy * sh - top + i * dh;
          const q = p + i * fw * c;
          if (iy < 0 || iy >= h) {
            f32.fill(0, q, q + fw * c);
            continue;
          }
          const line = src + (b * h + iy) * w * c;
          if (dw === 1) {
            // Taps [lo, hi) fall inside the image; padding wider than the filter can leave none.
            const lo = Math.min(fw, Math.max(0, -x0));
            const hi = Math.min(fw, w - x0);
            if (lo > 0) f32.fill(0, q, q + lo * c);
            if (hi > lo) f32.copyWithin(q + lo * c, line + (x0 + lo) * c, line + (x0 + hi) * c);
            if (hi < fw) f32.fill(0, q + Math.max(hi, lo) * c, q + fw * c);
            continue;
          }
          for (let j = 0; j < fw; j++) {
            const ix = x0 + j * dw;
            if (ix < 0 || ix >= w) f32.fill(0, q + j * c, q + (j + 1) * c);
            else f32.copyWithin(q + j * c, line + ix * c, line + (ix + 1) * c);
          }
        }
      }
    }
  }
}

/** Whether the convolution is a plain 1x1 one whose input is the product's A as it stands (no patch matrix). */
function readsInPlace(info: tf.backend_util.Conv2DInfo): boolean {
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  return (
    fh * fw === 1 &&
    sh === 1 &&
    sw === 1 &&
    info.outHeight === info.inHeight &&
    info.outWidth === info.inWidth
  );
}

/**
 * A convolution as one matrix product [N·outH·outW, fh·fw·C] x [fh·fw·C, K] by `gemmRows` (fused multiply-add where
 * the engine has relaxed SIMD, rows shared with the helper threads), bias and activation applied to each chunk of rows
 * while it is in cache. A 1x1 stride-1 unpadded convolution reads x itself; any other builds the patch matrix first.
 * The filter is packed into column panels once per filter buffer.
 */
function gemmConv2d(
  backend: WasmBackendLike & tf.KernelBackend,
  gemm: GemmFunctions,
  memory: WebAssembly.Memory,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | undefined,
  info: tf.backend_util.Conv2DInfo,
  code: number,
  onMake?: (ms: number) => void,
): tf.TensorInfo {
  const { batchSize: n, outHeight: oh, outWidth: ow, outChannels: k } = info;
  const depth = info.filterHeight * info.filterWidth * info.inChannels;
  const m = n * oh * ow;
  const direct = readsInPlace(info);
  const threads = wasmThreads(memory, wasmThreadsOf(backend));
  const temps: Array<{ shape: number[]; dtype: tf.DataType }> = [{ shape: [1], dtype: 'int32' }];
  if (!direct) temps.push({ shape: [m, depth], dtype: 'float32' });
  return withOutput(backend, { shape: [n, oh, ow, k], dtype: 'float32' }, temps, (out, [next, patches]) =>
    withDerivedWeights(
      backend,
      filter,
      'panels',
      () => {
        const t0 = performance.now();
        const values = packPanels(readValues(backend, filter), depth, k);
        onMake?.(performance.now() - t0);
        return { values, shape: [values.length] };
      },
      (panels) => {
        const at = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
        let a = at(x);
        if (patches !== undefined) {
          im2col(new Float32Array(memory.buffer), a / 4, at(patches) / 4, info);
          a = at(patches);
        }
        new Int32Array(memory.buffer)[at(next) / 4] = 0;
        const biasPtr = bias === undefined ? 0 : at(bias);
        const flags = code | (bias === undefined ? 0 : EPILOGUE.bias);
        runChunked(gemm, threads, a, depth, at(panels), at(out), m, k, biasPtr, flags, at(next));
      },
    ),
  );
}

/**
 * The matrix-product run of this convolution (NHWC, float32, K a multiple of 4, linear, ReLU or ReLU6, patch matrix
 * under 32 MB), with a key naming its geometry; undefined means: use the stock kernel.
 */
export function planGemmConv(
  backend: tf.KernelBackend,
  call: ConvCall,
  onMake?: (ms: number) => void,
): Plan<tf.TensorInfo> | undefined {
  const { x, filter, bias, attrs } = call;
  const code = ACTIVATIONS[attrs.activation ?? 'linear'];
  if (
    !isWasmBackend(backend) ||
    code === undefined ||
    x.dtype !== 'float32' ||
    filter.dtype !== 'float32' ||
    x.shape.length !== 4 ||
    filter.shape.length !== 4 ||
    filter.shape[2] !== x.shape[3] ||
    filter.shape[3] % 4 !== 0 ||
    !isNHWC(attrs.dataFormat) ||
    !biasFits(bias, filter.shape[3])
  ) {
    return undefined;
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const rows = info.batchSize * info.outHeight * info.outWidth;
  if (rows <= 0 || rows * info.filterHeight * info.filterWidth * info.inChannels > MAX_PATCH_FLOATS)
    return undefined;
  // A patch matrix of a few channels is copied in runs too short to pay (an image's first convolution, 3 channels:
  // 2.4 ms against XNNPACK's 0.7).
  if (!readsInPlace(info) && info.inChannels < 8) return undefined;
  const memory = wasmMemoryOf(backend);
  const gemm = memory !== undefined ? simdGemm(memory) : undefined;
  if (memory === undefined || gemm === undefined) return undefined;
  const wasm = backend as WasmBackendLike & tf.KernelBackend;
  const { padInfo: p, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  return {
    key: `gemm|${x.shape.join('x')}|${filter.shape.join('x')}|${strideHeight},${strideWidth}|${dilationHeight},${dilationWidth}|${p.top},${p.left},${p.bottom},${p.right}`,
    run: () => gemmConv2d(wasm, gemm, memory, x, filter, bias, info, code, onMake),
  };
}

/**
 * A strided convolution's input gradient as one matrix product and a scatter: cols = dy [N·oh·ow, outC] x Wᵀ
 * [outC, fh·fw·inC] (each dy pixel's contribution to its window, all taps at once), then each window added into dx
 * ("col2im"). The same multiply-adds as one convolution per sub-pixel phase, without the per-phase crops, the
 * concatenation and the depth-to-space of that path. Wᵀ is packed once per filter buffer.
 */
function gemmBackpropInput(
  backend: WasmBackendLike & tf.KernelBackend,
  gemm: GemmFunctions,
  memory: WebAssembly.Memory,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  onMake?: (ms: number) => void,
): tf.TensorInfo {
  const { batchSize: nb, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const [, , inC, outC] = filter.shape;
  const n = fh * fw * inC;
  const m = nb * oh * ow;
  const threads = wasmThreads(memory, wasmThreadsOf(backend));
  const temps: Array<{ shape: number[]; dtype: tf.DataType }> = [
    { shape: [1], dtype: 'int32' },
    { shape: [m, n], dtype: 'float32' },
  ];
  return withOutput(backend, { shape: [nb, h, w, inC], dtype: 'float32' }, temps, (out, [next, cols]) =>
    withDerivedWeights(
      backend,
      filter,
      'col2im-panels',
      () => {
        const t0 = performance.now();
        const wv = readValues(backend, filter);
        const wt = new Float32Array(outC * n);
        for (let t = 0; t < n; t++) for (let o = 0; o < outC; o++) wt[o * n + t] = wv[t * outC + o];
        const values = packPanels(wt, outC, n);
        onMake?.(performance.now() - t0);
        return { values, shape: [values.length] };
      },
      (panels) => {
        const at = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
        new Int32Array(memory.buffer)[at(next) / 4] = 0;
        runChunked(gemm, threads, at(dy), outC, at(panels), at(cols), m, n, 0, 0, at(next));
        const f32 = new Float32Array(memory.buffer);
        const dx = at(out) / 4;
        const src = at(cols) / 4;
        f32.fill(0, dx, dx + nb * h * w * inC);
        const top = info.padInfo.top;
        const left = info.padInfo.left;
        for (let b = 0; b < nb; b++) {
          for (let y = 0; y < oh; y++) {
            for (let x = 0; x < ow; x++) {
              const row = src + ((b * oh + y) * ow + x) * n;
              for (let r = 0; r < fh; r++) {
                const iy = y * sh - top + r;
                if (iy < 0 || iy >= h) continue;
                for (let c = 0; c < fw; c++) {
                  const ix = x * sw - left + c;
                  if (ix < 0 || ix >= w) continue;
                  const d = dx + ((b * h + iy) * w + ix) * inC;
                  const q = row + (r * fw + c) * inC;
                  for (let i = 0; i < inC; i++) f32[d + i] += f32[q + i];
                }
              }
            }
          }
        }
      },
    ),
  );
}

/**
 * The matrix-product run of a convolution's input gradient (`info` the forward convolution's: NHWC, float32, no
 * dilation, inC a multiple of 4, the column matrix under 32 MB), with a key naming its geometry; undefined means: use
 * the other path.
 */
export function planGemmBackpropInput(
  backend: tf.KernelBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  onMake?: (ms: number) => void,
): Plan<tf.TensorInfo> | undefined {
  const [fh, fw, inC] = filter.shape;
  const rows = info.batchSize * info.outHeight * info.outWidth;
  if (
    !isWasmBackend(backend) ||
    dy.dtype !== 'float32' ||
    filter.dtype !== 'float32' ||
    inC % 4 !== 0 ||
    info.dilationHeight !== 1 ||
    info.dilationWidth !== 1 ||
    rows <= 0 ||
    rows * fh * fw * inC > MAX_PATCH_FLOATS
  ) {
    return undefined;
  }
  const memory = wasmMemoryOf(backend);
  const gemm = memory !== undefined ? simdGemm(memory) : undefined;
  if (memory === undefined || gemm === undefined) return undefined;
  const wasm = backend as WasmBackendLike & tf.KernelBackend;
  const p = info.padInfo;
  return {
    key: `col2im|${dy.shape.join('x')}|${filter.shape.join('x')}|${info.strideHeight},${info.strideWidth}|${p.top},${p.left}|${info.inHeight}x${info.inWidth}`,
    run: () => gemmBackpropInput(wasm, gemm, memory, dy, filter, info, onMake),
  };
}
