import * as tf from '@tensorflow/tfjs-core';
import { type KernelArgs, readValues, writeOutput } from './kernel-util.js';
import { type KernelFix } from './registry.js';
import { heapViews, isWasmBackend } from './wasm-heap.js';

/** A cnnviz kernel: numpy's `roll` of a float32 tensor, attrs `{ shifts: number[] }` (one per axis, any sign). */
export const ROLL_KERNEL = 'CnnvizRoll';

/**
 * `out` = `x` rolled by `shifts` (one per axis, with wrap-around): element i goes to (i + shift) mod size. Below the
 * innermost rolled axis the data moves in contiguous blocks; along that axis each run splits into two copies.
 */
export function rollInto(x: Float32Array, shape: number[], shifts: number[], out: Float32Array): void {
  const r = shape.length;
  const s = shape.map((n, i) => (n === 0 ? 0 : (((shifts[i] ?? 0) % n) + n) % n));
  let last = r - 1;
  while (last >= 0 && s[last] === 0) last--;
  if (last < 0) {
    out.set(x);
    return;
  }
  let inner = 1;
  for (let i = last + 1; i < r; i++) inner *= shape[i];
  const n = shape[last];
  const run = n * inner;
  const head = (n - s[last]) * inner; // x[0 .. n - s) goes to out[s .. n)
  // Strides (in runs) of the outer axes 0..last-1, counted with an odometer.
  const stride = new Array<number>(last).fill(0);
  let runs = 1;
  for (let i = last - 1; i >= 0; i--) {
    stride[i] = runs;
    runs *= shape[i];
  }
  const idx = new Array<number>(last).fill(0);
  for (let k = 0; k < runs; k++) {
    let dst = 0;
    for (let i = 0; i < last; i++) dst += ((idx[i] + s[i]) % shape[i]) * stride[i];
    const src = k * run;
    const d = dst * run;
    out.set(x.subarray(src, src + head), d + run - head);
    out.set(x.subarray(src + head, src + run), d);
    for (let i = last - 1; i >= 0; i--) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
}

/** `CnnvizRoll` for wasm (on the heap) and cpu: core's `roll` uses it where registered, split and concat elsewhere. */
export function rollFix(backendName: 'wasm' | 'cpu'): KernelFix {
  return {
    name: `${backendName}:${ROLL_KERNEL}`,
    kernelName: ROLL_KERNEL,
    backendName,
    make: () => (args) => {
      const { inputs, backend, attrs } = args as unknown as KernelArgs;
      const x = inputs.x as tf.TensorInfo;
      const shifts = (attrs as { shifts?: number[] } | undefined)?.shifts;
      if (x.dtype !== 'float32' || !Array.isArray(shifts) || shifts.length !== x.shape.length)
        throw new Error(`cnnviz: ${ROLL_KERNEL} needs a float32 tensor and one shift per axis`);
      if (isWasmBackend(backend)) {
        const { out, outView, inViews } = heapViews(backend, [x], x.shape, 'float32');
        if (outView.length > 0)
          rollInto(inViews[0] as Float32Array, x.shape, shifts, outView as Float32Array);
        return out;
      }
      const values = readValues(backend, x);
      const out = new Float32Array(values.length);
      rollInto(values instanceof Float32Array ? values : Float32Array.from(values), x.shape, shifts, out);
      return writeOutput(backend, x.shape, out);
    },
  };
}
