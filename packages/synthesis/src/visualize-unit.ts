import { check, parseObjective, type Objective, type Step, type VisionModel } from '@cnnviz/core';
import { render, type RenderOptions } from './render.js';

export type VisualizeUnitOptions = RenderOptions;

/**
 * Feature visualisation of any objective (Olah et al. 2017, Lucid): a channel, a neuron, a
 * layer, a class or a combination (`add`, `scale`, `negate`), or a string such as
 * `"block_13_expand_relu:42"`. Defaults to Lucid's decorrelated Fourier parameterisation with
 * its standard transforms. With `batch` > 1 and `diversity` > 0 it draws several different
 * images of one unit (Lucid's diversity term on the Gram matrices of `diversityLayer`); the
 * image is then the batch side by side. `loss` is minus the objective.
 */
export async function* visualizeUnit(
  model: VisionModel,
  objective: Objective | string,
  options: VisualizeUnitOptions = {},
): AsyncGenerator<Step, void, undefined> {
  check(
    typeof objective === 'string' || (typeof objective === 'object' && objective !== null),
    'BAD_OPTION',
    'objective must be an Objective or a "layer:unit" string',
  );
  const obj = typeof objective === 'string' ? parseObjective(objective) : objective;
  yield* render(model, obj, options, 'fourier');
}
