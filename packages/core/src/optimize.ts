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
 * lives across steps belongs in `tf.Variable`s owned by the caller. On webgpu/webgl step i + 1
 * is queued while step i's loss is read back (the GPU never idles on the read), so `stepFn` runs
 * one step ahead of what has been yielded, and an abort discards that step.
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

  // One step run inside a tidy: its loss (kept until read) and its image, taken before the next step changes the
  // variables.
  const runStep = (i: number): { loss: tf.Scalar; image?: tf.Tensor3D } => {
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
    const stepNumber = i + 1;
    const wantImage = stepNumber === steps || (imageEvery !== undefined && stepNumber % imageEvery === 0);
    const fn = imageFn;
    try {
      const image = wantImage && fn !== undefined ? tf.tidy(() => fn()) : undefined;
      return image !== undefined ? { loss, image } : { loss };
    } catch (e) {
      loss.dispose();
      throw e;
    }
  };
  // On a GPU backend reading the loss back is asynchronous: the read of step i is started, step i + 1 is queued,
  // and only then is the read awaited, so the GPU runs step i + 1 while the loss travels back instead of idling
  // while the CPU records it (on an H200, style transfer's 100 steps spent ~0.7 s waiting). The next step then
  // runs before step i is reported; an abort discards that one step. CPU backends keep the strict order.
  const pipelined = ['webgpu', 'webgl'].includes(tf.getBackend());
  type Ran = { loss: tf.Scalar; image?: tf.Tensor3D };
  // Steps run but not yet handed to the consumer: freed here if the loop ends early (error, abort, break).
  let current: Ran | undefined;
  let next: Ran | undefined;
  try {
    checkAborted(signal, 'optimisation');
    current = runStep(0);
    for (let i = 0; i < steps; i++) {
      const { loss, image }: Ran = current as Ran;
      const read = loss.data();
      if (pipelined && i + 1 < steps) {
        checkAborted(signal, 'optimisation');
        next = runStep(i + 1);
      }
      const data = await read;
      current = undefined;
      loss.dispose();
      const result: Step = { step: i + 1, steps, loss: Number(data[0]) };
      if (image !== undefined) result.image = image;
      try {
        onProgress?.(result);
      } catch (e) {
        image?.dispose();
        throw e;
      }
      await yieldToEventLoop();
      yield result;
      if (i + 1 < steps) {
        if (next === undefined) {
          checkAborted(signal, 'optimisation');
          next = runStep(i + 1);
        }
        current = next;
        next = undefined;
      }
    }
  } finally {
    for (const held of [current, next]) {
      if (held === undefined) continue;
      // A loss whose read is in flight is freed once the read is done.
      await held.loss.data().catch(() => undefined);
      held.loss.dispose();
      held.image?.dispose();
    }
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
