import * as tf from '@tensorflow/tfjs-core';

/** What a kernel function receives, with the inputs and attrs typed loosely (tfjs passes plain records). */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: tf.KernelBackend;
  attrs?: tf.NamedAttrMap;
}

/** Reads a tensor's values synchronously from whatever backend holds it (cpu: no copy; wasm: a copy). */
export function readValues(backend: tf.KernelBackend, t: tf.TensorInfo): ArrayLike<number> {
  return backend.readSync(t.dataId) as ArrayLike<number> as Float32Array;
}

/** Hands freshly computed values to the backend as a kernel output (refCount 1, owned by the engine's tensor). */
export function writeOutput(backend: tf.KernelBackend, shape: number[], values: Float32Array): tf.TensorInfo {
  const dataId = backend.write(values, shape, 'float32');
  return { dataId, shape, dtype: 'float32' };
}

/**
 * Runs tf ops inside a kernel and returns the result as a TensorInfo the caller (the engine) owns.
 *
 * Nested ops are legal inside a kernel (the tape is off while kernelDepth > 0) but every op makes an engine
 * tensor; the result tensor's data gets an extra reference (like the Identity kernels do) before the tensor itself
 * is disposed, so the engine's output tensor becomes the data's only owner and nothing leaks.
 */
export function runOps(backend: tf.KernelBackend, fn: () => tf.Tensor): tf.TensorInfo {
  const out = tf.tidy(fn);
  backend.incRef(out.dataId);
  const info: tf.TensorInfo = { dataId: out.dataId, shape: out.shape.slice(), dtype: out.dtype };
  out.dispose();
  return info;
}

/**
 * Wraps a kernel's TensorInfo input as an engine tensor without copying; dispose it afterwards (the data gains one
 * reference here and loses it on dispose, so the caller's input is untouched).
 */
export function wrap<R extends tf.Rank = tf.Rank>(backend: tf.KernelBackend, t: tf.TensorInfo): tf.Tensor<R> {
  backend.incRef(t.dataId);
  return tf.engine().makeTensorFromTensorInfo(t, backend) as tf.Tensor<R>;
}

/** Data format attr ('NHWC' | 'NCHW' | undefined) → true when channels are last. */
export function isNHWC(dataFormat: unknown): boolean {
  return (
    dataFormat === undefined || dataFormat === null || dataFormat === 'NHWC' || dataFormat === 'channelsLast'
  );
}

/** Whether a fused convolution's `bias` is absent or a float32 vector of its `k` output channels. */
export function biasFits(bias: tf.TensorInfo | undefined, k: number): boolean {
  return bias === undefined || (bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === k);
}

/** Dilations attr (number | [h, w] | undefined) → true when there is none. */
export function noDilation(dilations: unknown): boolean {
  if (dilations === undefined || dilations === null) return true;
  if (typeof dilations === 'number') return dilations === 1;
  return Array.isArray(dilations) && dilations.every((d) => d === 1);
}

/**
 * Frees a kernel-internal TensorInfo (one made by calling a kernel directly). If it was ever wrapped as an engine
 * tensor the engine still lists its dataId; drop that record too so tf.memory() stays exact.
 */
export function freeInfo(backend: tf.KernelBackend, t: tf.TensorInfo): void {
  backend.disposeData(t.dataId, true);
  tf.engine().removeDataId(t.dataId, backend);
}
