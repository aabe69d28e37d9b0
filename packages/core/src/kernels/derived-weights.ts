import * as tf from '@tensorflow/tfjs-core';

/**
 * A cache of filters derived from a model's filters (flipped, transposed) for the gradient kernels.
 *
 * Why: wasm's Conv2D keeps one XNNPACK operator per filter buffer, and building one (packing the weights) costs up to
 * 10x the convolution itself; a gradient kernel that makes a fresh derived filter on every call pays it every time.
 * Keyed by the source buffer's dataId — tensor data is immutable and a Variable's assign() swaps in a new dataId —
 * so a hit is always current. The derived data lives in the backend only (never an engine tensor, so it does not
 * count in tf.memory().numTensors) and is freed once its source is gone: each lookup sweeps entries whose source
 * buffer the backend no longer holds.
 */
interface Entry {
  backend: tf.KernelBackend;
  /** Each key's buffers: one, or a set made together (Winograd's transformed filters). */
  derived: Map<string, tf.TensorInfo[]>;
}

const entries = new Map<tf.DataId, Entry>();

function free(e: Entry): void {
  for (const set of e.derived.values()) {
    for (const d of set) {
      try {
        e.backend.disposeData(d.dataId, true);
      } catch {
        // The backend itself was disposed (tf.removeBackend): its memory is gone already.
      }
    }
  }
  e.derived.clear();
}

function sweep(): void {
  for (const [src, e] of entries) {
    let alive = false;
    try {
      alive = e.backend.refCount(src) > 0;
    } catch {
      alive = false;
    }
    if (!alive) {
      free(e);
      entries.delete(src);
    }
  }
}

type Derived = { values: Float32Array; shape: number[] };

/**
 * Calls `use` with the derived buffer `key` of the source tensor `src`, made by `make` on a cache miss.
 *
 * With env IS_TEST the engine requires a kernel to leave exactly its outputs behind in the backend, which a cached
 * buffer would violate; there the buffer is made for this call and freed after it (same results, no reuse).
 */
export function withDerivedWeights<T>(
  backend: tf.KernelBackend,
  src: tf.TensorInfo,
  key: string,
  make: () => Derived,
  use: (w: tf.TensorInfo) => T,
): T {
  return withDerivedWeightSet(
    backend,
    src,
    key,
    () => [make()],
    (ws) => use(ws[0]),
  );
}

/** `withDerivedWeights` for buffers derived together (one lookup, one `make` for all of them on a miss). */
export function withDerivedWeightSet<T>(
  backend: tf.KernelBackend,
  src: tf.TensorInfo,
  key: string,
  make: () => Derived[],
  use: (ws: tf.TensorInfo[]) => T,
): T {
  if (tf.env().getBool('IS_TEST')) {
    const ws = make().map(({ values, shape }) => written(backend, values, shape));
    try {
      return use(ws);
    } finally {
      for (const w of ws) backend.disposeData(w.dataId, true);
    }
  }
  return use(derivedWeights(backend, src, key, make));
}

function written(backend: tf.KernelBackend, values: Float32Array, shape: number[]): tf.TensorInfo {
  return { dataId: backend.write(values, shape, 'float32'), shape, dtype: 'float32' };
}

function derivedWeights(
  backend: tf.KernelBackend,
  src: tf.TensorInfo,
  key: string,
  make: () => Derived[],
): tf.TensorInfo[] {
  sweep();
  let e = entries.get(src.dataId);
  if (e === undefined || e.backend !== backend) {
    if (e !== undefined) free(e);
    e = { backend, derived: new Map() };
    entries.set(src.dataId, e);
  }
  const k = `${key}:${src.shape.join('x')}`;
  let ws = e.derived.get(k);
  if (ws === undefined) {
    ws = make().map(({ values, shape }) => written(backend, values, shape));
    e.derived.set(k, ws);
  }
  return ws;
}

/** Frees every cached derived filter (e.g. before checking a backend's buffer count). */
export function clearKernelFixCaches(): void {
  for (const e of entries.values()) free(e);
  entries.clear();
}

/** Number of source filters with cached derivatives (for tests). */
export function kernelFixCacheSize(): number {
  sweep();
  return entries.size;
}

/** Runs another kernel of the current backend directly on TensorInfos (no engine tensors); the caller owns the result. */
export function callKernel(
  backend: tf.KernelBackend,
  kernelName: string,
  inputs: tf.NamedTensorInfoMap,
  attrs: Record<string, unknown>,
): tf.TensorInfo {
  const cfg = tf.getKernel(kernelName, tf.getBackend());
  if (cfg === undefined) throw new Error(`kernel ${kernelName} is not registered for ${tf.getBackend()}`);
  return cfg.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}
