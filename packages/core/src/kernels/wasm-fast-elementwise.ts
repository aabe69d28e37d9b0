import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { heapViews, isWasmBackend } from './wasm-heap.js';

type Arr = ArrayLike<number>;
/** mode 0: same shapes; 1: b is a scalar; 2: a is a scalar. */
type Cmp = (a: Arr, b: Arr, out: Uint8Array, mode: 0 | 1 | 2) => void;

// One plain loop per comparison and mode: a shared loop calling a comparator is several times slower, and generated
// code (new Function) would break under a strict Content-Security-Policy. `+(a <= s)` compiles branch-free: with
// a ternary, random signs mispredict and the loop is ~7x slower.
const lt: Cmp = (a, b, out, mode) => {
  const n = out.length;
  if (mode === 1) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = +(a[i] < s);
  } else if (mode === 2) {
    const s = a[0];
    for (let i = 0; i < n; i++) out[i] = +(s < b[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = +(a[i] < b[i]);
  }
};
const le: Cmp = (a, b, out, mode) => {
  const n = out.length;
  if (mode === 1) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = +(a[i] <= s);
  } else if (mode === 2) {
    const s = a[0];
    for (let i = 0; i < n; i++) out[i] = +(s <= b[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = +(a[i] <= b[i]);
  }
};
const gt: Cmp = (a, b, out, mode) => {
  const n = out.length;
  if (mode === 1) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = +(a[i] > s);
  } else if (mode === 2) {
    const s = a[0];
    for (let i = 0; i < n; i++) out[i] = +(s > b[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = +(a[i] > b[i]);
  }
};
const ge: Cmp = (a, b, out, mode) => {
  const n = out.length;
  if (mode === 1) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = +(a[i] >= s);
  } else if (mode === 2) {
    const s = a[0];
    for (let i = 0; i < n; i++) out[i] = +(s >= b[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = +(a[i] >= b[i]);
  }
};
const eq: Cmp = (a, b, out, mode) => {
  const n = out.length;
  if (mode === 1) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = +(a[i] === s);
  } else if (mode === 2) {
    const s = a[0];
    for (let i = 0; i < n; i++) out[i] = +(s === b[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = +(a[i] === b[i]);
  }
};
const ne: Cmp = (a, b, out, mode) => {
  const n = out.length;
  if (mode === 1) {
    const s = b[0];
    for (let i = 0; i < n; i++) out[i] = +(a[i] !== s);
  } else if (mode === 2) {
    const s = a[0];
    for (let i = 0; i < n; i++) out[i] = +(s !== b[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = +(a[i] !== b[i]);
  }
};

/**
 * Comparisons on wasm in JS over heap views. The stock wasm kernels (a generic C++ broadcasting loop) take ~30 ms on a
 * 112x112x96 tensor — 40x an XNNPACK add — and the ReLU6 gradient (lessEqual(x, 6)) runs one per ReLU6: on
 * MobileNetV2 that was most of the backward pass. Shapes other than equal / scalar go to the stock kernel.
 */
function comparisonFix(kernelName: string, cmp: Cmp): KernelFix {
  return {
    name: `wasm:${kernelName}`,
    kernelName,
    backendName: 'wasm',
    make: (stock) => (args) => {
      const { inputs, backend } = args as unknown as KernelArgs;
      const a = inputs.a as tf.TensorInfo;
      const b = inputs.b as tf.TensorInfo;
      const aSize = tf.util.sizeFromShape(a.shape);
      const bSize = tf.util.sizeFromShape(b.shape);
      const same = tf.util.arraysEqual(a.shape, b.shape);
      const bScalar = !same && bSize === 1 && b.shape.length <= a.shape.length;
      const aScalar = !same && !bScalar && aSize === 1 && a.shape.length <= b.shape.length;
      const ok = (same || bScalar || aScalar) && a.dtype !== 'string' && b.dtype !== 'string';
      if (!ok || !isWasmBackend(backend)) {
        if (stock === undefined)
          throw new Error(`${kernelName}: no stock kernel for shapes ${a.shape} / ${b.shape}`);
        return stock.kernelFunc(args);
      }
      const shape = aScalar ? b.shape.slice() : a.shape.slice();
      const { out, outView, inViews } = heapViews(backend, [a, b], shape, 'bool');
      cmp(inViews[0], inViews[1], outView as Uint8Array, same ? 0 : bScalar ? 1 : 2);
      return out;
    },
  };
}

export const wasmComparisonFixes: KernelFix[] = [
  comparisonFix(tf.Less, lt),
  comparisonFix(tf.LessEqual, le),
  comparisonFix(tf.Greater, gt),
  comparisonFix(tf.GreaterEqual, ge),
  comparisonFix(tf.Equal, eq),
  comparisonFix(tf.NotEqual, ne),
];
