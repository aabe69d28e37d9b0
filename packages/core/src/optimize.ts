import * as tf from '@tensorflow/tfjs-core';
import { CnnvizError } from './errors.js';
import { check, checkAborted, checkNumber } from './validate.js';

/** One finished optimisation step. */
export interface Step {
  /** 1-based number of this step; equals `steps` on the last one. */
  step: number;
  steps: number;
  /** The loss the step function returned, read back after the step. */
  loss: number;
  /**
   * The current image, on the steps `imageEvery` asks for and always on the last. The consumer
   * of the iterator owns it and must dispose it (`run` does this for all but the last step).
   */
  image?: tf.Tensor3D;
}

export interface OptimizationLoopOptions {
  /** Number of steps, an integer >= 1. */
  steps: number;
  /** Checked before every step; aborting throws CnnvizError('ABORTED'). */
  signal?: AbortSignal;
  /** Called after every step with the step that is about to be yielded (do not dispose its image). */
  onProgress?: (step: Step) => void;
  /** Also produce `image` every this many steps (default: only on the last step). */
  imageEvery?: number;
}

/** What one step returns: its loss, and how to get the current image if one is wanted. */
export interface StepResult {
  loss: tf.Scalar;
  image?: () => tf.Tensor3D;
}

/**
 * Resolves after one turn of the event loop, so timers, UI events and abort handlers run between
 * the steps of long work (an awaited `tensor.data()` on the CPU backend alone does not let them).
 * setImmediate lets I/O callbacks run in Node; browsers only have the (clamped) timer.
 */
export const yieldToEventLoop = (): Promise<void> =>
  new Promise((resolve) => {
    const g = globalThis as { setImmediate?: (cb: () => void) => unknown };
    if (typeof g.setImmediate === 'function') g.setImmediate(resolve);
    else setTimeout(resolve, 0);
  });

/**
 * The loop every iterative technique runs: calls `stepFn(i)` for i = 0..steps-1 inside
 * `tf.tidy` (so everything a step allocates except variables it assigns is freed), reads the
 * loss with `await data()` (works on asynchronous backends such as WebGPU), yields to the event
 * loop, reports progress and yields a `Step`. The step function is synchronous; state that
 * lives across steps belongs in `tf.Variable`s owned by the caller.
 */
export async function* optimizationLoop(
  opts: OptimizationLoopOptions,
  stepFn: (i: number) => StepResult,
): AsyncGenerator<Step, void, undefined> {
  check(
    opts !== null && typeof opts === 'object',
    'BAD_OPTION',
    'options must be an object { steps, signal?, onProgress? }',
  );
  const { steps, signal, onProgress, imageEvery } = opts;
  checkNumber(steps, 'steps', { min: 1, integer: true });
  if (imageEvery !== undefined) checkNumber(imageEvery, 'imageEvery', { min: 1, integer: true });
  check(typeof stepFn === 'function', 'BAD_OPTION', 'stepFn must be a function (i) => { loss, image? }');
  check(
    onProgress === undefined || typeof onProgress === 'function',
    'BAD_OPTION',
    'onProgress must be a function',
  );

  for (let i = 0; i < steps; i++) {
    checkAborted(signal, 'optimisation');
    let imageFn: (() => tf.Tensor3D) | undefined;
    const loss = tf.tidy(() => {
      const r = stepFn(i);
      if (r === null || typeof r !== 'object' || !(r.loss instanceof tf.Tensor)) {
        throw new CnnvizError(
          'BAD_OPTION',
          'stepFn must return { loss: tf.Scalar, image?: () => tf.Tensor3D }',
        );
      }
      imageFn = r.image;
      return r.loss;
    });
    let lossValue: number;
    try {
      const data = await loss.data();
      lossValue = Number(data[0]);
    } finally {
      loss.dispose();
    }
    const stepNumber = i + 1;
    const wantImage = stepNumber === steps || (imageEvery !== undefined && stepNumber % imageEvery === 0);
    const fn = imageFn;
    const image = wantImage && fn !== undefined ? tf.tidy(() => fn()) : undefined;
    const result: Step = { step: stepNumber, steps, loss: lossValue };
    if (image !== undefined) result.image = image;
    try {
      onProgress?.(result);
    } catch (e) {
      image?.dispose();
      throw e;
    }
    await yieldToEventLoop();
    yield result;
  }
}

/**
 * Drives an iterator of steps to its end and returns the last step; the images of earlier
 * steps are disposed, the last step's image belongs to the caller.
 */
export async function run(iterable: AsyncIterable<Step>): Promise<Step> {
  let last: Step | undefined;
  try {
    for await (const s of iterable) {
      if (last?.image !== undefined && last.image !== s.image) last.image.dispose();
      last = s;
    }
  } catch (e) {
    last?.image?.dispose();
    throw e;
  }
  if (last === undefined) throw new CnnvizError('BAD_OPTION', 'run() got an iterator that produced no steps');
  return last;
}
