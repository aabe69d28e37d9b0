import type * as tf from '@tensorflow/tfjs-core';
import { run, type Step } from '@cnnviz/core';
import type { Progress } from '../progress.js';

/**
 * Runs an iterative technique to its end and returns its final image (the caller disposes it).
 * `offset`/`total` place this run inside a section's progress bar.
 */
export async function finalImage(steps: AsyncIterable<Step>): Promise<{ image: tf.Tensor3D; loss: number }> {
  const last = await run(steps);
  if (!last.image) throw new Error('the technique returned no image');
  return { image: last.image, loss: last.loss };
}

/** A progress callback that maps a run's steps into part `index` of `parts` of a section's bar. */
export function stepsInto(bar: Progress, index: number, parts: number): (s: Step) => void {
  return (s) =>
    bar.update(
      index * s.steps + s.step,
      parts * s.steps,
      Number.isFinite(s.loss) ? `loss ${s.loss.toPrecision(3)}` : undefined,
    );
}
