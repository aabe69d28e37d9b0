import { checkTarget, classLogit, type Step, type VisionModel } from '@cnnviz/core';
import { numClasses } from './model-utils.js';
import { render, type RenderOptions } from './render.js';

export interface VisualizeClassOptions extends RenderOptions {
  /** Class index whose pre-softmax score is maximised. */
  target: number;
}

/**
 * Class model visualisation (Simonyan et al. 2014; Yosinski et al. 2015): gradient ascent from
 * grey noise on a class logit with the lecture's regularisers — L2 decay, Gaussian blur every
 * `blurEvery` steps, clipping pixels of small value and small gradient — and jitter; or, with
 * `param: 'fourier'` and `transforms: 'standard'`, Lucid's stronger priors. An async iterator of
 * steps (`loss` is minus the logit); the last step's `image` is the picture, `run()` drives it.
 */
export async function* visualizeClass(
  model: VisionModel,
  options: VisualizeClassOptions,
): AsyncGenerator<Step, void, undefined> {
  checkTarget(options?.target, numClasses(model));
  yield* render(model, classLogit(options.target), options, 'pixel');
}
