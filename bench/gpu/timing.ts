import * as tf from '@tensorflow/tfjs-core';

/** One timed implementation of one task. */
export interface Row {
  task: string;
  impl: string;
  ms: number;
  runs: number[];
  note?: string;
}

export const rows: Row[] = [];

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * `warm` untimed calls, then the median of `reps` timed ones (times `scale`: a naive loop timed on a few of its
 * iterations and scaled to all of them, exact up to noise because the iterations are sequential and alike).
 * A failure is recorded as a row with its message and the run goes on.
 */
export async function timeIt(
  task: string,
  impl: string,
  fn: () => Promise<void>,
  reps: number,
  warm = 2,
  scale = 1,
  note?: string,
): Promise<void> {
  try {
    for (let i = 0; i < warm; i++) await fn();
    const runs: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await fn();
      runs.push((performance.now() - t0) * scale);
    }
    const row: Row = { task, impl, ms: median(runs), runs: runs.map((r) => Math.round(r * 10) / 10), note };
    rows.push(row);
    console.log(
      `  ${task.padEnd(11)} ${impl.padEnd(48)} ${row.ms.toFixed(1).padStart(10)} ms  (median of ${reps}${note ? `; ${note}` : ''})`,
    );
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    rows.push({ task, impl, ms: NaN, runs: [], note: `failed: ${msg}` });
    console.log(`  ${task.padEnd(11)} ${impl.padEnd(48)}     FAILED  ${msg}`);
  }
}

/** Note for a naive loop timed on `k` of its `n` iterations. */
export const scaledNote = (k: number, n: number, what: string) =>
  k < n ? `${k} of ${n} ${what} timed, scaled x${(n / k).toFixed(1)}` : undefined;

export async function readAndDispose(t: tf.Tensor | tf.Tensor[]): Promise<void> {
  const ts = Array.isArray(t) ? t : [t];
  await Promise.all(ts.map((x) => x.data()));
  tf.dispose(ts);
}

/** Prints a line when a task left tensors behind (the library's calls must not). */
export function memoryCheck(label: string, before: tf.MemoryInfo): void {
  const after = tf.memory();
  if (after.numTensors !== before.numTensors)
    console.log(`  (leak check ${label}: ${after.numTensors - before.numTensors} tensors)`);
}
