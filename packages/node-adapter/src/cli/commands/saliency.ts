import type { Command } from '../command.js';
import {
  imagesPositional,
  modelOption,
  objectiveOption,
  outputOption,
  seedOption,
  sizeOption,
  targetOption,
  viewOptions,
} from '../command.js';

/** `cnnviz saliency`: vanilla gradients, SmoothGrad or integrated gradients of a class score. */
export const saliency: Command = {
  spec: {
    name: 'saliency',
    summary: 'which pixels the class score is most sensitive to (gradient, SmoothGrad, integrated gradients)',
    description:
      'Vanilla saliency (Simonyan et al. 2014) is |d score / d pixel|, max over colour channels. SmoothGrad averages it over noisy copies of the image; integrated gradients (Sundararajan et al. 2017) integrates the gradient from a black baseline and shows signed contributions.',
    positionals: imagesPositional,
    options: {
      model: modelOption('fashion-cnn'),
      output: outputOption('the saliency map'),
      target: targetOption,
      objective: objectiveOption,
      method: {
        type: 'string',
        choices: ['vanilla', 'smoothgrad', 'ig'],
        default: 'vanilla',
        placeholder: '<m>',
        description: 'gradient method',
      },
      samples: {
        type: 'integer',
        min: 1,
        default: 25,
        placeholder: '<n>',
        description: 'SmoothGrad: noisy samples',
      },
      noise: {
        type: 'number',
        min: 0,
        default: 0.15,
        placeholder: '<σ>',
        description: 'SmoothGrad: noise level, a fraction of the value range',
      },
      steps: {
        type: 'integer',
        min: 2,
        default: 32,
        placeholder: '<n>',
        description: 'integrated gradients: integration steps',
      },
      seed: seedOption,
      size: sizeOption,
      ...viewOptions,
    },
    examples: [
      'cnnviz saliency fashion-sneaker -m fashion-cnn -o saliency.png',
      'cnnviz saliency photo.jpg -m mobilenet-v2 --method smoothgrad --objective block_13_expand_relu:42 --view side',
    ],
  },
  async run(args, ctx) {
    const { runAttribution } = await import('../pipeline.js');
    const a = await import('@cnnviz/attribution');
    const v = args.values;
    const method = v.method as 'vanilla' | 'smoothgrad' | 'ig';
    return runAttribution(args, ctx, {
      suffix: method === 'vanilla' ? 'saliency' : method,
      defaultView: method === 'ig' ? 'heatmap' : 'heatmap',
      async explain(lm, image, t, hooks) {
        const base = {
          target: t.target,
          objective: t.objective,
          signal: hooks.signal,
          onProgress: hooks.onProgress,
        };
        if (method === 'smoothgrad') {
          const r = await a.smoothGrad(lm.model, image, {
            ...base,
            samples: v.samples as number,
            noise: v.noise as number,
            seed: v.seed as number,
          });
          return {
            map: r.map,
            signed: r.signed,
            extra: { method, samples: v.samples, noise: v.noise },
            dispose: () => r.dispose(),
          };
        }
        if (method === 'ig') {
          const r = await a.integratedGradients(lm.model, image, { ...base, steps: v.steps as number });
          return {
            map: r.map,
            signed: r.signed,
            extra: { method, steps: v.steps, completenessError: r.completenessError },
            dispose: () => r.dispose(),
          };
        }
        const r = await a.saliency(lm.model, image, base);
        return { map: r.map, signed: r.signed, extra: { method }, dispose: () => r.dispose() };
      },
    });
  },
};
