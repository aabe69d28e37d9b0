import type * as tf from '@tensorflow/tfjs-core';

/** A typed view of tensor data on the wasm heap (float32, int32, bool). */
export type HeapView = Float32Array | Int32Array | Uint8Array;

/** The two tfjs-backend-wasm methods the JS kernels below need (public on BackendWasm, absent from KernelBackend). */
export interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): HeapView;
}

export function isWasmBackend(b: unknown): b is WasmBackendLike {
  const w = b as Partial<WasmBackendLike> | null;
  return typeof w?.makeOutput === 'function' && typeof w.typedArrayFromHeap === 'function';
}

/**
 * Allocates the output first, then takes views of the inputs and the output on the wasm heap: an allocation can grow
 * (and detach) the heap, so no view may be taken before it.
 */
export function heapViews(
  backend: WasmBackendLike,
  inputs: tf.TensorInfo[],
  outShape: number[],
  outDtype: tf.DataType,
): {
  out: tf.TensorInfo;
  outView: HeapView;
  inViews: HeapView[];
} {
  const out = backend.makeOutput(outShape, outDtype);
  return {
    out,
    outView: backend.typedArrayFromHeap(out),
    inViews: inputs.map((t) => backend.typedArrayFromHeap(t)),
  };
}

/**
 * Makes a kernel's output and temporaries, runs `fill` on them and returns the output: the temporaries are freed
 * either way, the output too if `fill` throws.
 */
export function withOutput(
  backend: WasmBackendLike & { disposeData(dataId: object, force?: boolean): unknown },
  out: { shape: number[]; dtype: tf.DataType },
  temps: Array<{ shape: number[]; dtype: tf.DataType }>,
  fill: (out: tf.TensorInfo, temps: tf.TensorInfo[]) => void,
): tf.TensorInfo {
  const o = backend.makeOutput(out.shape, out.dtype);
  const ts: tf.TensorInfo[] = [];
  try {
    for (const t of temps) ts.push(backend.makeOutput(t.shape, t.dtype));
    fill(o, ts);
  } catch (e) {
    backend.disposeData(o.dataId, true);
    throw e;
  } finally {
    for (const t of ts) backend.disposeData(t.dataId, true);
  }
  return o;
}

/**
 * copy(srcOffset, dstOffset, length) from `src` to `dst` (offsets in elements of each). Views of one buffer (the wasm
 * heap) copy through `copyWithin` on a view of the whole buffer: no subarray object per call, which for the ~100-float
 * runs of a channel slice or concatenation took twice the time (784 runs of 96 floats: 18 µs against 39 µs).
 */
export function runCopier(src: HeapView, dst: HeapView): (from: number, to: number, length: number) => void {
  if (src.buffer === dst.buffer && src.constructor === dst.constructor) {
    const Ctor = src.constructor as new (buffer: ArrayBufferLike) => HeapView;
    const whole = new Ctor(src.buffer);
    const s = src.byteOffset / src.BYTES_PER_ELEMENT;
    const d = dst.byteOffset / dst.BYTES_PER_ELEMENT;
    return (from, to, length) => whole.copyWithin(d + to, s + from, s + from + length);
  }
  return (from, to, length) => dst.set(src.subarray(from, from + length), to);
}

/**
 * The backend's WebAssembly memory: the single-threaded build exports it, the threaded build imports a shared one it
 * keeps in `wasmMemory`. Undefined for anything else.
 */
export function wasmMemoryOf(backend: unknown): WebAssembly.Memory | undefined {
  const module = (backend as { wasm?: { asm?: { memory?: unknown }; wasmMemory?: unknown } } | null)?.wasm;
  const memory = module?.asm?.memory ?? module?.wasmMemory;
  return memory instanceof WebAssembly.Memory ? memory : undefined;
}

/** The threads of tfjs-backend-wasm's pool (XNNPACK's), 1 where it cannot tell. */
export function wasmThreadsOf(backend: unknown): number {
  const tfjs = (backend as { wasm?: { tfjs?: { getThreadsCount?: () => number } } } | null)?.wasm?.tfjs;
  const n = typeof tfjs?.getThreadsCount === 'function' ? tfjs.getThreadsCount() : 1;
  return Number.isFinite(n) && n >= 1 ? n : 1;
}
