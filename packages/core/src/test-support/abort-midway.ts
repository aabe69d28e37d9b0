import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import { CnnvizError } from '../errors.js';

// Test support (not exported from the package), shared by the technique packages' cancellation tests.

/** Starts a long run with the given signal and progress callback. */
export type StartRun = (o: { signal: AbortSignal; onProgress: (p: unknown) => void }) => Promise<unknown>;

/**
 * Starts a run and aborts it half a step after its second progress report (the step between the first two reports
 * is the estimate), as a click or Ctrl-C lands mid-step. Checks that the run rejects with ABORTED, reports at most
 * once more, and frees every tensor it made. Returns the latency from the abort to the rejection and the step time.
 */
export async function abortMidway(name: string, start: StartRun): Promise<{ latency: number; step: number }> {
  const before = tf.memory().numTensors;
  const controller = new AbortController();
  const ticks: number[] = [];
  let due = 0;
  let aborted = false;
  let after = 0;
  const err = await start({
    signal: controller.signal,
    onProgress: () => {
      if (aborted) return void after++;
      ticks.push(performance.now());
      if (ticks.length !== 2) return;
      const half = (ticks[1] - ticks[0]) / 2;
      due = performance.now() + half;
      setTimeout(() => {
        aborted = true;
        controller.abort();
      }, half);
    },
  }).then(
    () => undefined,
    (e: unknown) => e,
  );
  const latency = performance.now() - due;
  const said = `${name}: ${String(err)} after ${ticks.length} reports`;
  expect(CnnvizError.isInstance(err) && err.code, said).toBe('ABORTED');
  expect(after, said).toBeLessThanOrEqual(1);
  expect(tf.memory().numTensors, said).toBe(before);
  return { latency, step: (ticks[ticks.length - 1] - ticks[0]) / Math.max(1, ticks.length - 1) };
}
