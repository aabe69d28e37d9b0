import { CnnvizError, createRng } from '@cnnviz/core';
import { expect } from 'vitest';

/** Seeded standard normal samples. */
export function normals(seed: number): () => number {
  const rng = createRng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** `n` points in `d` dims drawn around `clusters` centres spread `separation` apart; labels i % clusters. */
export function clusteredData(
  n: number,
  d: number,
  clusters: number,
  seed: number,
  separation = 10,
): { rows: Float32Array[]; labels: Int32Array } {
  const g = normals(seed);
  const centres = Array.from({ length: clusters }, () =>
    Float32Array.from({ length: d }, () => separation * g()),
  );
  const rows: Float32Array[] = [];
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    labels[i] = c;
    rows.push(Float32Array.from(centres[c], (v) => v + g()));
  }
  return { rows, labels };
}

/** Runs `f` and expects a CnnvizError with `code` (and a message matching `pattern`, if given). */
export async function expectCode(f: () => unknown, code: string, pattern?: RegExp): Promise<void> {
  let error: unknown;
  try {
    await f();
  } catch (e) {
    error = e;
  }
  expect(CnnvizError.isInstance(error), `expected a CnnvizError ${code}, got ${String(error)}`).toBe(true);
  expect((error as CnnvizError).code).toBe(code);
  if (pattern) expect((error as CnnvizError).message).toMatch(pattern);
}
