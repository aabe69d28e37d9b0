import * as tf from '@tensorflow/tfjs-core';
import { withDerivedWeightSet } from './derived-weights.js';
import { biasFits, isNHWC, type KernelArgs, noDilation, readValues } from './kernel-util.js';
import type { KernelFix } from './registry.js';
import { type Plan, runPlan, timedChoice } from './timed-choice.js';
import { type GemmFunctions, packPanels, runGemmTable, simdGemm } from './wasm-simd-gemm.js';
import { type ThreadedFunction, wasmThreads } from './wasm-threads.js';
import { planGemmConv } from './wasm-gemm-conv2d.js';
import { isWasmBackend, type WasmBackendLike, wasmMemoryOf, wasmThreadsOf, withOutput } from './wasm-heap.js';
import {
  simdWinograd,
  TILE_PARAMS,
  type TileLoop,
  WINOGRAD,
  type WinogradActivation,
  type WinogradFunctions,
  type WinogradKind,
} from './wasm-simd-winograd.js';

/**
 * U_ξ = (G g Gᵀ)_ξ for every ξ of the α² transformed positions, each a [C, K] matrix, from an [f, f, C, K] filter
 * (in float64, rounded once).
 */
export function winogradFilterValues(
  w: ArrayLike<number>,
  shape: number[],
  kind: WinogradKind,
): Float32Array[] {
  const { G } = WINOGRAD[kind];
  const [f, , c, k] = shape;
  const ck = c * k;
  const a = G.length;
  // t[r][b] = Σ_i G[r][i] g[i][b]
  const t: Float64Array[] = [];
  for (let r = 0; r < a; r++) {
    for (let b = 0; b < f; b++) {
      const acc = new Float64Array(ck);
      for (let i = 0; i < f; i++) {
        const gr = G[r][i];
        if (gr === 0) continue;
        const off = (i * f + b) * ck;
        for (let e = 0; e < ck; e++) acc[e] += gr * w[off + e];
      }
      t.push(acc);
    }
  }
  const out: Float32Array[] = [];
  for (let r = 0; r < a; r++) {
    for (let s = 0; s < a; s++) {
      const u = new Float64Array(ck);
      for (let b = 0; b < f; b++) {
        const gs = G[s][b];
        if (gs === 0) continue;
        const src = t[r * f + b];
        for (let e = 0; e < ck; e++) u[e] += gs * src[e];
      }
      out.push(Float32Array.from(u));
    }
  }
  return out;
}

/**
 * The Winograd algorithm for this convolution, or undefined for the stock kernel. For 3x3 filters F(4x4, 3x3) was
 * faster than F(2x2, 3x3) on every InceptionV3 and VGG16 shape measured (2.0-3.3x the stock XNNPACK kernel on one
 * thread, F(2,3) 1.7-2.2x), but its transformed filter is 36/9 = 4x the filter:
 * above C·K = 16384 (VGG16's 256- and 512-channel layers) F(2,3)'s 16/9 is the better trade. 5x5 filters take
 * F(2x2, 5x5). Below ~8 M multiply-adds or 16 channels the product calls' fixed costs win. Figures:
 * bench/results/winograd-2026-12-05.md.
 */
export function winogradKindFor(info: tf.backend_util.Conv2DInfo): WinogradKind | undefined {
  const { inChannels: c, outChannels: k, outHeight: oh, outWidth: ow, batchSize: n } = info;
  const f = info.filterHeight;
  if (c % 4 !== 0 || k % 4 !== 0 || c < 16 || k < 16 || oh <= 0 || ow <= 0) return undefined;
  if (n * oh * ow * c * k * f * f < MIN_MACS) return undefined;
  if (f === 5) return '2x5';
  if (f !== 3) return undefined;
  return c * k <= MAX_F43_WEIGHTS ? '4x3' : '2x3';
}

const MAX_F43_WEIGHTS = 16384;
const MIN_MACS = 1 << 23;

/** The cached transformed filters U_ξ, each packed into `gemm`'s column panels. */
function withWinogradFilters<T>(
  backend: tf.KernelBackend,
  filter: tf.TensorInfo,
  kind: WinogradKind,
  use: (us: tf.TensorInfo[]) => T,
  onMake?: (ms: number) => void,
): T {
  const [, , c, k] = filter.shape;
  return withDerivedWeightSet(
    backend,
    filter,
    `winograd${kind}`,
    () => {
      const t0 = performance.now();
      const us = winogradFilterValues(readValues(backend, filter), filter.shape, kind).map((u) => {
        const values = packPanels(u, c, k);
        return { values, shape: [values.length] };
      });
      onMake?.(performance.now() - t0);
      return us;
    },
    use,
  );
}

/**
 * A stride-1 r x r NHWC convolution by Winograd's minimal filtering F(m x m, r x r): the input cut into overlapping
 * α x α tiles (α = m + r − 1), each transformed (Bᵀ d B) in WebAssembly SIMD on the heap, α² matrix products
 * [tiles, C] x [C, K] by `gemmTable` (transformed filters packed and cached per source filter), then Aᵀ M A with bias
 * and activation back into the NHWC output: 2.25 (F(2,3)), 4 (F(4,3)) or 2.8 (F(2,5)) times fewer multiplications
 * than the direct convolution. On the threaded build all three steps are shared with the helper threads.
 */
function winogradConv2d(
  backend: WasmBackendLike & tf.KernelBackend,
  fns: WinogradFunctions,
  gemm: GemmFunctions,
  memory: WebAssembly.Memory,
  kind: WinogradKind,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  bias: tf.TensorInfo | undefined,
  info: tf.backend_util.Conv2DInfo,
  act: WinogradActivation,
  onMake?: (ms: number) => void,
): tf.TensorInfo {
  const {
    batchSize: n,
    inHeight: h,
    inWidth: w,
    inChannels: c,
    outChannels: k,
    outHeight: oh,
    outWidth: ow,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const { m, r } = WINOGRAD[kind];
  const a = m + r - 1;
  const a2 = a * a;
  const tH = Math.ceil(oh / m);
  const tW = Math.ceil(ow / m);
  const perImage = tH * tW;
  const tiles = n * perImage;
  // Tiles per pass: the transformed input and the products (α² x tiles x C or K floats each) stay under ~32 MB.
  const chunk = Math.max(1, Math.min(tiles, Math.floor(PASS_FLOATS / (a2 * Math.max(c, k)))));
  const offset = (t: tf.TensorInfo) => backend.typedArrayFromHeap(t).byteOffset;
  const threads = wasmThreads(memory, wasmThreadsOf(backend));

  /** Tiles t0 .. t1-1 (row-major over batch, tile row, tile column): transforms and products into `out`. */
  const pass = (out: tf.TensorInfo, us: tf.TensorInfo[], t0: number, t1: number) => {
    const temps: tf.TensorInfo[] = [];
    const temp = (shape: number[], dtype: tf.DataType = 'float32') => {
      const t = backend.makeOutput(shape, dtype);
      temps.push(t);
      return t;
    };
    const free = (t: tf.TensorInfo) => {
      temps.splice(temps.indexOf(t), 1);
      backend.disposeData(t.dataId, true);
    };
    try {
      const rows = t1 - t0;
      const slots = (threads?.helpers ?? 0) + 1;
      // Tiles per chunk: about eight chunks per thread.
      const tileChunk = Math.max(1, Math.ceil(rows / (8 * slots)));
      /**
       * A tile loop over `image` (h x w, `ch` channels, padded by top and left), its α² buffers `bufs`, shared with the
       * helpers: the parameter block, the chunk and scratch-slot counters and the scratch, on the heap for this call.
       */
      const tileLoop = (
        run: TileLoop,
        threaded: ThreadedFunction,
        image: tf.TensorInfo,
        ih: number,
        iw: number,
        ch: number,
        pads: [number, number],
        bufs: tf.TensorInfo,
        bufFloats: number,
        scratchFloats: number,
        biasPtr: number,
      ) => {
        const block = temp([TILE_PARAMS.length + a2 + 2], 'int32');
        const scratch = temp([slots * scratchFloats]);
        const i32 = new Int32Array(memory.buffer);
        const p = offset(block);
        const table = p + 4 * TILE_PARAMS.length;
        const counters = table + 4 * a2;
        for (let i = 0; i < a2; i++) i32[table / 4 + i] = offset(bufs) + 4 * i * bufFloats;
        i32[counters / 4] = 0;
        i32[counters / 4 + 1] = 0;
        const values = [offset(image), ih, iw, ch * 4, pads[0], pads[1], tW, perImage, t0, t1];
        values.push(table, offset(scratch), scratchFloats * 4, counters + 4, tileChunk, biasPtr);
        i32.set(values, p / 4);
        if (threads === undefined) run(p, counters);
        else threads.run(threaded, [p, counters], () => run(p, counters));
        free(scratch);
        free(block);
      };
      // Input transform V_ξ = (Bᵀ d B)_ξ.
      // The α² matrices V_ξ [tiles, C] one after another in one buffer (one allocation, not α²), as are the M_ξ.
      const vs = temp([a2 * rows * c]);
      tileLoop(fns.inputTiles, fns.threaded.inputTiles, x, h, w, c, [top, left], vs, rows * c, a2 * c, 0);
      // The α² products M_ξ = V_ξ U_ξ, [tiles, C] x [C, K], in one call.
      const ms = temp([a2 * rows * k]);
      // (V_ξ, U_ξ, M_ξ) offsets, then the shared product counter.
      const triples = temp([3 * a2 + 1], 'int32');
      {
        const i32 = new Int32Array(memory.buffer);
        const p = offset(triples) / 4;
        for (let i = 0; i < a2; i++) {
          i32[p + 3 * i] = offset(vs) + 4 * i * rows * c;
          i32[p + 3 * i + 1] = offset(us[i]);
          i32[p + 3 * i + 2] = offset(ms) + 4 * i * rows * k;
        }
        i32[p + 3 * a2] = 0;
        runGemmTable(gemm, threads, offset(triples), a2, c * 4, k * 4, rows, c, k, offset(triples) + 12 * a2);
      }
      free(triples);
      free(vs);
      // Output transform y = act(Aᵀ M A + bias).
      let biasPtr: number;
      if (bias === undefined) {
        const zeros = temp([k]);
        biasPtr = offset(zeros);
        new Float32Array(memory.buffer).fill(0, biasPtr / 4, biasPtr / 4 + k);
      } else biasPtr = offset(bias);
      tileLoop(
        fns.outputTiles[act],
        fns.threaded.outputTiles[act],
        out,
        oh,
        ow,
        k,
        [0, 0],
        ms,
        rows * k,
        m * m * k,
        biasPtr,
      );
    } finally {
      for (const t of temps) backend.disposeData(t.dataId, true);
    }
  };

  return withOutput(backend, { shape: [n, oh, ow, k], dtype: 'float32' }, [], (out) =>
    withWinogradFilters(
      backend,
      filter,
      kind,
      (us) => {
        for (let t0 = 0; t0 < tiles; t0 += chunk) pass(out, us, t0, Math.min(tiles, t0 + chunk));
      },
      onMake,
    ),
  );
}

const PASS_FLOATS = 8 << 20;

export interface ConvCall {
  x: tf.TensorInfo;
  filter: tf.TensorInfo;
  bias?: tf.TensorInfo;
  attrs: tf.Conv2DAttrs & { activation?: string };
}

/**
 * The Winograd run of this convolution where it applies and is worth it (or by `force` wherever it applies), with a
 * key naming its geometry; undefined means: use the stock kernel.
 */
function planWinograd(
  backend: tf.KernelBackend,
  call: ConvCall,
  force?: WinogradKind,
  onMake?: (ms: number) => void,
): Plan<tf.TensorInfo> | undefined {
  const { x, filter, bias, attrs } = call;
  const act = (attrs.activation ?? 'linear') as WinogradActivation;
  if (
    !isWasmBackend(backend) ||
    x.dtype !== 'float32' ||
    filter.dtype !== 'float32' ||
    x.shape.length !== 4 ||
    !(filter.shape[0] === 3 || filter.shape[0] === 5) ||
    filter.shape[1] !== filter.shape[0] ||
    !isNHWC(attrs.dataFormat) ||
    !noDilation(attrs.dilations) ||
    !(attrs.strides === 1 || (Array.isArray(attrs.strides) && attrs.strides.every((s) => s === 1))) ||
    !['linear', 'relu', 'relu6'].includes(act) ||
    !biasFits(bias, filter.shape[3])
  ) {
    return undefined;
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    1,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const kind = force ?? winogradKindFor(info);
  if (
    kind === undefined ||
    WINOGRAD[kind].r !== info.filterHeight ||
    info.outHeight <= 0 ||
    info.outWidth <= 0 ||
    info.inChannels % 4 !== 0 ||
    info.outChannels % 4 !== 0
  )
    return undefined;
  const memory = wasmMemoryOf(backend);
  const fns = memory !== undefined ? simdWinograd(memory, kind) : undefined;
  const gemm = memory !== undefined ? simdGemm(memory) : undefined;
  if (memory === undefined || fns === undefined || gemm === undefined) return undefined;
  const wasm = backend as WasmBackendLike & tf.KernelBackend;
  return {
    key: `${kind}|${x.shape.join('x')}|${filter.shape.join('x')}|${info.padInfo.top},${info.padInfo.left}|${info.outHeight}x${info.outWidth}`,
    run: () => winogradConv2d(wasm, fns, gemm, memory, kind, x, filter, bias, info, act, onMake),
  };
}

/**
 * Runs the convolution by Winograd where it applies (by `force`'s algorithm wherever it applies); undefined means:
 * use the stock kernel. The caller owns the result.
 */
export function tryWinograd(
  backend: tf.KernelBackend,
  call: ConvCall,
  force?: WinogradKind,
): tf.TensorInfo | undefined {
  return planWinograd(backend, call, force)?.run();
}

/**
 * A fix that runs `kernelName` (Conv2D or FusedConv2D: same inputs, FusedConv2D adds bias and activation) by
 * Winograd (3x3 and 5x5) or one matrix product (any other geometry, over a patch matrix) where they apply, and by the
 * stock kernel otherwise; with several WASM threads the faster of the two per geometry (`runPlan`).
 */
function winogradFix(kernelName: string): KernelFix {
  return {
    name: `wasm:${kernelName}`,
    kernelName,
    backendName: 'wasm',
    make: (stock) => {
      const choice = timedChoice();
      // Transformed or packed filters are made once per filter (and geometry keys are shared by a model's
      // same-shaped layers): that time is not the algorithm's.
      const onMake = (ms: number) => choice.exclude(ms);
      return (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        if (stock === undefined) throw new Error(`${kernelName}: no stock kernel`);
        const call: ConvCall = {
          x: inputs.x as tf.TensorInfo,
          filter: inputs.filter as tf.TensorInfo,
          bias: (inputs.bias ?? undefined) as tf.TensorInfo | undefined,
          attrs: attrs as unknown as tf.FusedConv2DAttrs,
        };
        const plan = planWinograd(backend, call, undefined, onMake) ?? planGemmConv(backend, call, onMake);
        return runPlan(choice, wasmThreadsOf(backend), plan, () => stock.kernelFunc(args) as tf.TensorInfo);
      };
    },
  };
}

/** wasm `Conv2D` by Winograd for stride-1 3x3 and 5x5 filters (others, and small ones, go to the stock kernel). */
export const wasmWinogradConv2dFix = winogradFix(tf.Conv2D);

/** wasm `FusedConv2D` by Winograd (linear, relu or relu6; bias fused into the output transform). */
export const wasmWinogradFusedConv2dFix = winogradFix(tf.FusedConv2D);
