import * as tf from '@tensorflow/tfjs-core';
import { check, CnnvizError, hasWasmSimd } from '@cnnviz/core';

/** A data matrix: a `[N, D]` tensor or N rows of D numbers (typed arrays or plain arrays). */
export type Matrix = tf.Tensor2D | ArrayLike<number>[];

/** Row-major copy of a matrix with its shape; every algorithm here works on this. */
export interface FlatMatrix {
  data: Float32Array;
  n: number;
  d: number;
}

/**
 * Reads and validates a matrix: rank 2, at least `minRows` rows, no ragged rows, every value
 * finite. Tensors are read once (`await data()` so GPU backends work too). `checkValues` false
 * leaves a tensor's values unchecked, for a caller that checks them in a pass of its own (then
 * calling `checkFiniteFlat`).
 */
export async function readMatrix(
  x: unknown,
  name: string,
  minRows = 1,
  checkValues = true,
): Promise<FlatMatrix> {
  if (x instanceof tf.Tensor) {
    check(!x.isDisposed, 'BAD_INPUT', `${name} has been disposed`);
    check(x.rank === 2, 'BAD_INPUT', `${name} must be a 2-D tensor [N, D], got shape [${x.shape.join(',')}]`);
    const [n, d] = x.shape as [number, number];
    checkSize(n, d, name, minRows);
    const raw = await x.data();
    const data = raw instanceof Float32Array ? raw : Float32Array.from(raw as ArrayLike<number>);
    if (checkValues) checkFiniteFlat(data, d, name);
    return { data, n, d };
  }
  return flattenRows(x, name, minRows);
}

/** Synchronous variant for row arrays (no tensor read needed). */
export function flattenRows(x: unknown, name: string, minRows = 1): FlatMatrix {
  check(
    Array.isArray(x),
    'BAD_INPUT',
    `${name} must be a tf.Tensor2D [N, D] or an array of rows (Float32Array or number[]), got ${describe(x)}`,
  );
  const n = x.length;
  check(n > 0, 'BAD_INPUT', `${name} must have at least ${minRows} row(s), got 0`);
  const first = x[0] as unknown;
  check(isRow(first), 'BAD_INPUT', `${name}[0] must be a row of numbers, got ${describe(first)}`);
  const d = (first as ArrayLike<number>).length;
  checkSize(n, d, name, minRows);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const row = x[i] as unknown;
    check(isRow(row), 'BAD_INPUT', () => `${name}[${i}] must be a row of numbers, got ${describe(row)}`);
    const r = row as ArrayLike<number>;
    check(
      r.length === d,
      'BAD_INPUT',
      () =>
        `${name} has ragged rows: row ${i} has ${r.length} values, row 0 has ${d}; every row needs the same length`,
    );
    const off = i * d;
    for (let j = 0; j < d; j++) {
      const v = r[j];
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new CnnvizError(
          'BAD_INPUT',
          `${name}[${i}][${j}] is ${String(v)}; every value must be a finite number (no NaN or Infinity)`,
        );
      }
      data[off + j] = v;
    }
  }
  return { data, n, d };
}

/** Splits a row-major buffer into row views (no copy). */
export function toRows(data: Float32Array, n: number, d: number): Float32Array[] {
  const rows: Float32Array[] = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = data.subarray(i * d, (i + 1) * d);
  return rows;
}

/** Rows as independent copies, so a caller may keep some and drop the rest. */
export function copyRows(data: ArrayLike<number>, n: number, d: number): Float32Array[] {
  const rows: Float32Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = new Float32Array(d);
    for (let j = 0; j < d; j++) row[j] = data[i * d + j];
    rows[i] = row;
  }
  return rows;
}

function checkSize(n: number, d: number, name: string, minRows: number): void {
  check(n >= minRows, 'BAD_INPUT', `${name} must have at least ${minRows} row(s), got ${n}`);
  check(d > 0, 'BAD_INPUT', `${name} must have at least one column, got ${d}`);
}

/** Throws BAD_INPUT naming the first NaN or infinite value of a row-major matrix, if any. */
export function checkFiniteFlat(data: Float32Array, d: number, name: string): void {
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) {
      const i = Math.floor(k / d);
      throw new CnnvizError(
        'BAD_INPUT',
        `${name}[${i}][${k - i * d}] is ${String(data[k])}; every value must be a finite number (no NaN or Infinity)`,
      );
    }
  }
}

function isRow(r: unknown): boolean {
  return Array.isArray(r) || (ArrayBuffer.isView(r) && !(r instanceof DataView));
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return `an array of length ${x.length}`;
  if (ArrayBuffer.isView(x)) return x.constructor.name;
  return typeof x;
}

/** Name of the active TF.js backend, or `undefined` when none can be initialised. */
export function activeBackend(): string | undefined {
  try {
    return tf.getBackend();
  } catch {
    return undefined;
  }
}

/**
 * How big matrix products run: `tf` (tf.matMul on the active backend), `simd` (this package's
 * WebAssembly SIMD kernel, multi-threaded in Node) or `js` (typed-array loops).
 */
export type Engine = 'js' | 'tf' | 'simd';

/**
 * The fastest engine here: TF.js on GPU backends (webgl, webgpu, tensorflow); on the CPU
 * backends (`cpu`, `wasm`) the SIMD kernel, which on the 2-core test machine ran ~1.5x faster
 * per core than TF.js WASM's matMul and can use every core; typed-array loops where WebAssembly
 * SIMD is missing (tf.matMul on the pure-JS `cpu` backend is slower than they are).
 */
export function chooseEngine(): Engine {
  const b = activeBackend();
  if (b !== undefined && b !== 'cpu' && b !== 'wasm') return 'tf';
  if (hasWasmSimd()) return 'simd';
  return b === 'wasm' ? 'tf' : 'js';
}

/**
 * Threads for a job: `requested` when given (Node only; 1 elsewhere), else every core (at most
 * 8) when `worthIt`, i.e. when the job is long enough to repay starting workers (~30 ms each).
 */
export async function autoThreads(requested: number | undefined, worthIt: boolean): Promise<number> {
  if (typeof process === 'undefined' || typeof process.versions?.node !== 'string') return 1;
  if (requested !== undefined) return requested;
  if (!worthIt) return 1;
  const os = await import('node:os');
  const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, cores));
}
