import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError, type CnnvizErrorCode } from './errors.js';

/** Throws a CnnvizError with `code` unless `cond` holds; the message should say what was expected. */
export function check(cond: unknown, code: CnnvizErrorCode, message: string | (() => string)): asserts cond {
  if (!cond) throw new CnnvizError(code, typeof message === 'function' ? message() : message);
}

/** Checks a numeric option: finite and, when given, inside [min, max]; `integer` rejects fractions. */
export function checkNumber(
  value: unknown,
  name: string,
  opts: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): asserts value is number {
  const { min, max, integer, exclusiveMin } = opts;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!integer || Number.isInteger(value)) &&
    (min === undefined || (exclusiveMin ? value > min : value >= min)) &&
    (max === undefined || value <= max);
  if (!ok) {
    const range = [
      integer ? 'an integer' : 'a finite number',
      min !== undefined ? `${exclusiveMin ? '>' : '>='} ${min}` : '',
      max !== undefined ? `<= ${max}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    throw new CnnvizError('BAD_OPTION', `${name} must be ${range}, got ${String(value)}`);
  }
}

function describeShape(t: tf.Tensor): string {
  return `[${t.shape.join(',')}]`;
}

/**
 * Checks a pixel image or batch: rank 3 `[H,W,C]` or rank 4 `[N,H,W,C]`, float, the expected
 * channel count. Values are checked separately (see `checkFinite`) because that needs a read.
 */
export function checkImage(
  img: unknown,
  opts: { channels?: number; batch?: boolean; name?: string; minSize?: number } = {},
): asserts img is tf.Tensor3D | tf.Tensor4D {
  const name = opts.name ?? 'image';
  check(
    img instanceof tf.Tensor || (typeof img === 'object' && img !== null && 'shape' in img && 'dtype' in img),
    'BAD_IMAGE',
    `${name} must be a tf.Tensor [H,W,C] with values in 0..1, got ${typeof img}`,
  );
  const t = img as tf.Tensor;
  check(t.isDisposed !== true, 'BAD_IMAGE', `${name} has been disposed`);
  const ranks = opts.batch === false ? [3] : [3, 4];
  check(
    ranks.includes(t.rank),
    'BAD_IMAGE',
    `${name} must have rank ${ranks.join(' or ')} ([H,W,C]${opts.batch === false ? '' : ' or [N,H,W,C]'}), got shape ${describeShape(t)}`,
  );
  const c = t.shape[t.rank - 1];
  if (opts.channels !== undefined) {
    check(
      c === opts.channels,
      'BAD_IMAGE',
      `${name} must have ${opts.channels} channel(s) in the last dimension (HWC order), got shape ${describeShape(t)}`,
    );
  }
  const h = t.shape[t.rank - 3];
  const w = t.shape[t.rank - 2];
  const minSize = opts.minSize ?? 1;
  check(
    h >= minSize && w >= minSize,
    'BAD_IMAGE',
    `${name} must be at least ${minSize}x${minSize} pixels, got ${h}x${w}`,
  );
  check(t.dtype === 'float32' || t.dtype === 'int32', 'BAD_IMAGE', `${name} must be float32, got ${t.dtype}`);
}

/** Rejects NaN or infinite values (one small read). */
export async function checkFinite(t: tf.Tensor, name = 'image'): Promise<void> {
  const bad = tf.tidy(() => tf.logicalNot(tf.all(tf.isFinite(t))));
  const [flag] = await bad.data();
  bad.dispose();
  check(
    flag === 0,
    t.rank >= 3 ? 'BAD_IMAGE' : 'BAD_INPUT',
    `${name} contains NaN or infinite values; expected finite numbers`,
  );
}

/** Checks a class index against the model's number of outputs. */
export function checkTarget(target: unknown, numClasses: number, name = 'target'): asserts target is number {
  check(
    typeof target === 'number' && Number.isInteger(target) && target >= 0 && target < numClasses,
    'BAD_TARGET',
    `${name} must be an integer class index in 0..${numClasses - 1}, got ${String(target)}`,
  );
}

/** Throws ABORTED if the signal has fired. */
export function checkAborted(signal: AbortSignal | undefined, what = 'operation'): void {
  if (signal?.aborted) throw new CnnvizError('ABORTED', `${what} was aborted`, { cause: signal.reason });
}

/** Levenshtein distance, for "did you mean" lists of layer names. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** The `n` names closest to `name` (substring matches first, then by edit distance). */
export function closestNames(name: string, names: string[], n = 5): string[] {
  const lower = name.toLowerCase();
  return [...names]
    .map((candidate) => {
      const c = candidate.toLowerCase();
      const score = c.includes(lower) || lower.includes(c) ? -1 : editDistance(lower, c);
      return { candidate, score };
    })
    .sort((a, b) => a.score - b.score)
    .slice(0, n)
    .map((x) => x.candidate);
}

/** Throws UNKNOWN_LAYER with close names unless `layer` is in `names`. */
export function checkLayer(layer: unknown, names: string[]): asserts layer is string {
  check(
    typeof layer === 'string' && names.includes(layer),
    'UNKNOWN_LAYER',
    () => `unknown layer "${String(layer)}"; close names: ${closestNames(String(layer), names).join(', ')}`,
  );
}
