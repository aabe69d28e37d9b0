import * as tf from '@tensorflow/tfjs-core';
import {
  backpropInputInfo,
  cropForConv,
  type ExplicitPad,
  transposedConvInput,
  transposedConvParts,
} from './conv-ops.js';
import { callKernel, withDerivedWeights } from './derived-weights.js';
import { freeInfo, type KernelArgs, isNHWC, readValues, runOps, wrap } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { runPlan, timedChoice } from './timed-choice.js';
import { planGemmBackpropInput } from './wasm-gemm-conv2d.js';
import { wasmThreadsOf } from './wasm-heap.js';
import {
  type PhaseAxis,
  phaseAxis,
  phaseFilterValues,
  phaseTapRange,
  singlePhaseFilterValues,
} from './sub-pixel.js';

/**
 * The filter flipped in space with in/out channels swapped ([fH, fW, outC, inC]), computed in JS: wasm's Reverse
 * kernel takes ~200 ms on a 3x3x512x512 filter, this loop a few ms.
 */
export function flipTransposeValues(w: ArrayLike<number>, shape: number[]): Float32Array {
  const [fH, fW, inC, outC] = shape;
  const out = new Float32Array(fH * fW * inC * outC);
  for (let r = 0; r < fH; r++) {
    for (let c = 0; c < fW; c++) {
      const src = (r * fW + c) * inC * outC;
      const dst = ((fH - 1 - r) * fW + (fW - 1 - c)) * outC * inC;
      for (let i = 0; i < inC; i++) {
        for (let o = 0; o < outC; o++) out[dst + o * inC + i] = w[src + i * outC + o];
      }
    }
  }
  return out;
}

/**
 * conv2d input gradient as a forward convolution (op-level version, any backend): dy dilated by the stride and
 * padded, correlated with the filter flipped in space with its in/out channels swapped.
 */
export function conv2dBackpropInputOps(
  dy: tf.Tensor4D,
  filter: tf.Tensor4D,
  info: tf.backend_util.Conv2DInfo,
): tf.Tensor4D {
  return tf.tidy(() => {
    const w = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]);
    return tf.conv2d(transposedConvInput(dy, info), w, 1, 'valid');
  });
}

/**
 * Fast `Conv2DBackpropInput` (NHWC; anything else goes to the stock kernel): the forward Conv2D kernel of the backend
 * (XNNPACK on wasm, ~4x the stock wasm kernel on VGG16) on the prepared dy, with the flipped-transposed filter
 * cached per source filter so the backend can reuse its packed weights across calls.
 */
export function fastConv2dBackpropInputFix(backendName: string): KernelFix {
  return {
    name: `${backendName}:Conv2DBackpropInput`,
    kernelName: tf.Conv2DBackpropInput,
    backendName,
    make: (stock) => {
      const choice = timedChoice();
      const onMake = (ms: number) => choice.exclude(ms);
      return (args) => {
        const { inputs, backend, attrs } = args as unknown as KernelArgs;
        const a = attrs as unknown as tf.Conv2DBackpropInputAttrs;
        if (!isNHWC(a.dataFormat) && stock !== undefined) return stock.kernelFunc(args);
        const filter = inputs.filter as tf.TensorInfo;
        const info = backpropInputInfo(a, filter);
        const [fH, fW, inC, outC] = filter.shape;
        const dy = inputs.dy as tf.TensorInfo;
        const s = info.strideHeight;
        if (s > 1 && info.strideWidth === s) {
          // On wasm, one matrix product and a scatter (the same multiply-adds as a convolution per phase, less around
          // them).
          const plan = planGemmBackpropInput(backend, dy, filter, info, onMake);
          return runPlan(choice, wasmThreadsOf(backend), plan, () =>
            subPixelBackpropInput(backend, dy, filter, info),
          );
        }
        const { x: prepared, pad } = tf.tidy(() => transposedConvParts(wrap<tf.Rank.R4>(backend, dy), info));
        try {
          return withDerivedWeights(
            backend,
            filter,
            'conv-flip-transpose',
            () => ({
              values: flipTransposeValues(readValues(backend, filter), filter.shape),
              shape: [fH, fW, outC, inC],
            }),
            (w) => conv(backend, prepared, w, pad),
          );
        } finally {
          prepared.dispose();
        }
      };
    },
  };
}

function conv(
  backend: tf.KernelBackend,
  x: tf.TensorInfo,
  w: tf.TensorInfo,
  pad: ExplicitPad,
): tf.TensorInfo {
  return callKernel(
    backend,
    tf.Conv2D,
    { x, filter: w },
    { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] },
  );
}

/** Strided case: one stride-1 conv with the phase filter, then depthToSpace (see sub-pixel.ts). */
function subPixelBackpropInput(
  backend: tf.KernelBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const s = info.strideHeight;
  const [fH, fW, inC, outC] = filter.shape;
  const h = phaseAxis(fH, s, info.padInfo.top, info.inHeight);
  const v = phaseAxis(fW, s, info.padInfo.left, info.inWidth);
  if (perPhaseWorthIt(h, v, s, inC)) return perPhaseBackpropInput(backend, dy, filter, info, h, v);
  const { x: prepared, pad } = tf.tidy(() =>
    cropForConv(
      wrap<tf.Rank.R4>(backend, dy),
      -h.jmin,
      h.a + h.k - 2 + h.jmin - (info.outHeight - 1),
      -v.jmin,
      v.a + v.k - 2 + v.jmin - (info.outWidth - 1),
    ),
  );
  let y: tf.TensorInfo;
  try {
    y = withDerivedWeights(
      backend,
      filter,
      `conv-phase:${s}:${info.padInfo.top}:${info.padInfo.left}:${info.inHeight % s}:${info.inWidth % s}`,
      () => ({
        values: phaseFilterValues(readValues(backend, filter), filter.shape, s, h, v),
        shape: [h.k, v.k, outC, s * s * inC],
      }),
      (w) => conv(backend, prepared, w, pad),
    );
  } finally {
    prepared.dispose();
  }
  try {
    return runOps(backend, () => interleave(wrap<tf.Rank.R4>(backend, y), s, info, inC));
  } finally {
    freeInfo(backend, y);
  }
}

/** Phase outputs stacked along channels ((pH·s + pW)·inC + c) -> dx: depthToSpace(s), cropped to the input size. */
function interleave(y: tf.Tensor4D, s: number, info: tf.backend_util.Conv2DInfo, inC: number): tf.Tensor4D {
  const full = tf.depthToSpace(y, s, 'NHWC');
  const [b, hh, ww] = full.shape;
  return hh === info.inHeight && ww === info.inWidth
    ? full
    : tf.slice(full, [0, 0, 0, 0], [b, info.inHeight, info.inWidth, inC]);
}

/**
 * Whether one convolution per phase beats the combined phase filter: that filter gives every phase ⌈f/s⌉² taps
 * where a phase may have fewer (3x3, stride 2: 16 tap-phases for 9 taps, InceptionV3's Mixed_6a backward 2.7x its
 * forward), but s² calls with inC output channels each run XNNPACK less efficiently when inC is small.
 */
function perPhaseWorthIt(h: PhaseAxis, v: PhaseAxis, s: number, inC: number): boolean {
  if (inC < 16) return false;
  let exactH = 0;
  let exactW = 0;
  for (let p = 0; p < s; p++) {
    exactH += phaseTapRange(h, p).n;
    exactW += phaseTapRange(v, p).n;
  }
  return exactH * exactW <= 0.75 * s * s * h.k * v.k;
}

/** Strided case, one stride-1 convolution per phase with that phase's own taps, then depthToSpace. */
function perPhaseBackpropInput(
  backend: tf.KernelBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
  h: PhaseAxis,
  v: PhaseAxis,
): tf.TensorInfo {
  const s = info.strideHeight;
  const inC = filter.shape[2];
  const ys: Array<tf.TensorInfo | undefined> = [];
  try {
    for (let ph = 0; ph < s; ph++) {
      const rh = phaseTapRange(h, ph);
      for (let pw = 0; pw < s; pw++) {
        const rw = phaseTapRange(v, pw);
        if (rh.n === 0 || rw.n === 0) {
          ys.push(undefined); // no filter tap reaches this phase: its gradient is zero
          continue;
        }
        // Output row i of the phase reads dy rows i + lo + jmin .. + n - 1.
        const top = rh.lo + h.jmin;
        const left = rw.lo + v.jmin;
        const { x: prepared, pad } = tf.tidy(() =>
          cropForConv(
            wrap<tf.Rank.R4>(backend, dy),
            -top,
            h.a + top + rh.n - 1 - info.outHeight,
            -left,
            v.a + left + rw.n - 1 - info.outWidth,
          ),
        );
        try {
          ys.push(
            withDerivedWeights(
              backend,
              filter,
              `conv-phase1:${s}:${ph}:${pw}:${info.padInfo.top}:${info.padInfo.left}:${info.inHeight % s}:${info.inWidth % s}`,
              () => singlePhaseFilterValues(readValues(backend, filter), filter.shape, h, v, ph, pw),
              (w) => conv(backend, prepared, w, pad),
            ),
          );
        } finally {
          prepared.dispose();
        }
      }
    }
    const b = dy.shape[0];
    return runOps(backend, () =>
      interleave(
        tf.concat(
          ys.map((y) => (y === undefined ? tf.zeros([b, h.a, v.a, inC]) : wrap<tf.Rank.R4>(backend, y))),
          3,
        ) as tf.Tensor4D,
        s,
        info,
        inC,
      ),
    );
  } finally {
    for (const y of ys) if (y !== undefined) freeInfo(backend, y);
  }
}
