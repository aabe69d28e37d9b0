import * as tf from '@tensorflow/tfjs-core';
import { withDerivedWeights } from './derived-weights.js';
import { type KernelArgs, readValues, runOps, wrap } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { type Plan, runPlan, timedChoice } from './timed-choice.js';
import { isWasmBackend, wasmMemoryOf, wasmThreadsOf, withOutput } from './wasm-heap.js';
import { packPanels, runChunked, simdGemm } from './wasm-simd-gemm.js';
import { wasmThreads } from './wasm-threads.js';

// Below this many multiply-adds the stock kernel's lower set-up cost wins.
const MIN_WORK = 1 << 16;

const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/**
 * BatchMatMul as 1x1 convolutions: A [M,K] x B [K,N] is conv2d of A seen as a 1 x M image with K
 * channels and B as a 1x1 filter K -> N, which WASM runs through XNNPACK. The stock WASM
 * BatchMatMul is a plain loop: a Gram matrix F^T F of a [16384, 96] feature map took 200 ms
 * (0.75 GMAC/s), as did each matrix product of its gradient; this path is ~10x faster. Transposed
 * operands are transposed first; batches loop (equal batch shapes, or one operand unbatched).
 * Other cases (int32, broadcast batch shapes, tiny products) go to the stock kernel.
 */
export const wasmBatchMatMulFix: KernelFix = {
  name: 'wasm:BatchMatMul',
  kernelName: tf.BatchMatMul,
  backendName: 'wasm',
  make: (stock) => {
    const choice = timedChoice();
    const onMake = (ms: number) => choice.exclude(ms);
    return (args) => {
      const { inputs, backend, attrs } = args as unknown as KernelArgs;
      const a = inputs.a as tf.TensorInfo;
      const b = inputs.b as tf.TensorInfo;
      const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
      const ra = a.shape.length;
      const rb = b.shape.length;
      const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
      const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
      const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
      const batchA = a.shape.slice(0, -2);
      const batchB = b.shape.slice(0, -2);
      const sa = prod(batchA);
      const sb = prod(batchB);
      const sameBatch =
        sa === sb && batchA.length === batchB.length && batchA.every((d, i) => d === batchB[i]);
      const usable =
        a.dtype === 'float32' &&
        b.dtype === 'float32' &&
        ra >= 2 &&
        rb >= 2 &&
        (sameBatch || sa === 1 || sb === 1) &&
        m * k * n >= MIN_WORK &&
        // Untransposed single products: the stock kernel's XNNPACK fully-connected path was as fast or faster (a
        // [672,113] x [113,224] product 1.8 vs 2.3 ms, [50176,3] x [3,3] 0.5 vs 1.3 ms CPU); it is the transposed
        // operands that fall to its plain loop.
        (transposeA || transposeB || sa !== 1 || sb !== 1) &&
        m > 0 &&
        n > 0 &&
        k > 0;
      const viaStock = () => {
        if (stock === undefined) throw new Error('BatchMatMul: no stock kernel');
        return stock.kernelFunc(args) as tf.TensorInfo;
      };
      const plan =
        sa === 1 && sb === 1 && !transposeA && m * k * n >= MIN_WORK
          ? planGemmMatMul(
              backend,
              a,
              b,
              transposeB,
              [m, k, n],
              [...(ra > rb ? batchA : batchB), m, n],
              onMake,
            )
          : undefined;
      const batches = Math.max(sa, sb);
      const outBatch = sa >= sb ? batchA : batchB;
      const viaConvs = () =>
        runOps(backend, () => {
          let A = tf.reshape(wrap(backend, a), [sa, a.shape[ra - 2], a.shape[ra - 1]]);
          let B = tf.reshape(wrap(backend, b), [sb, b.shape[rb - 2], b.shape[rb - 1]]);
          if (transposeA) A = tf.transpose(A, [0, 2, 1]);
          if (transposeB) B = tf.transpose(B, [0, 2, 1]);
          const outs: tf.Tensor[] = [];
          for (let i = 0; i < batches; i++) {
            const Ai = sa === 1 ? A : tf.slice(A, [i, 0, 0], [1, m, k]);
            const Bi = sb === 1 ? B : tf.slice(B, [i, 0, 0], [1, k, n]);
            const y = tf.conv2d(
              tf.reshape(Ai, [1, 1, m, k]) as tf.Tensor4D,
              tf.reshape(Bi, [1, 1, k, n]) as tf.Tensor4D,
              1,
              'valid',
            );
            outs.push(tf.reshape(y, [m, n]));
          }
          return tf.reshape(outs.length === 1 ? outs[0] : tf.stack(outs), [...outBatch, m, n]);
        });
      // Our own product where it applies, else the path that would run otherwise.
      return runPlan(choice, wasmThreadsOf(backend), plan, usable ? viaConvs : viaStock);
    };
  },
};

/**
 * One product A [m, k] x B [k, n] (or Bᵀ given as [n, k]) by the package's own matrix product (wasm-simd-gemm.ts:
 * fused multiply-add where available, rows shared with the helper threads), B packed once per buffer: the Fourier
 * parameterisation's [672, 113] x [113, 113] took 0.55 ms per call in XNNPACK's fully-connected kernel.
 */
function planGemmMatMul(
  backend: tf.KernelBackend,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeB: boolean,
  [m, k, n]: number[],
  outShape: number[],
  onMake: (ms: number) => void,
): Plan<tf.TensorInfo> | undefined {
  const memory = wasmMemoryOf(backend);
  const gemm = memory !== undefined ? simdGemm(memory) : undefined;
  if (!isWasmBackend(backend) || a.dtype !== 'float32' || b.dtype !== 'float32' || !memory || !gemm)
    return undefined;
  const wasm = backend;
  return {
    key: `${m}x${k}x${n}|${transposeB}`,
    run: () =>
      withOutput(
        wasm,
        { shape: outShape, dtype: 'float32' },
        [{ shape: [1], dtype: 'int32' }],
        (out, [next]) =>
          withDerivedWeights(
            backend,
            b,
            transposeB ? 'panels-t' : 'panels',
            () => {
              const t0 = performance.now();
              const bv = readValues(backend, b);
              let kn = bv;
              if (transposeB) {
                const t = new Float32Array(k * n);
                for (let j = 0; j < n; j++) for (let q = 0; q < k; q++) t[q * n + j] = bv[j * k + q];
                kn = t;
              }
              const values = packPanels(kn, k, n);
              onMake(performance.now() - t0);
              return { values, shape: [values.length] };
            },
            (panels) => {
              const at = (t: tf.TensorInfo) => wasm.typedArrayFromHeap(t).byteOffset;
              new Int32Array(memory.buffer)[at(next) / 4] = 0;
              const threads = wasmThreads(memory, wasmThreadsOf(backend));
              runChunked(gemm, threads, at(a), k, at(panels), at(out), m, n, 0, 0, at(next));
            },
          ),
      ),
  };
}
