import type { Command } from '../command.js';
import {
  imagesPositional,
  modelOption,
  objectiveOption,
  outputOption,
  sizeOption,
  targetOption,
  viewOptions,
} from '../command.js';

/** `cnnviz occlusion`: how much the class score drops when a patch is hidden. */
export const occlusion: Command = {
  spec: {
    name: 'occlusion',
    summary: 'slide a patch over the image and map how much the class score drops (Zeiler & Fergus 2014)',
    description:
      'Each pixel gets the mean drop of the class logit over the windows that cover it; red = hiding it hurts the class, blue = hiding it helps. Cost: one forward pass per window position.',
    positionals: imagesPositional,
    options: {
      model: modelOption('fashion-cnn'),
      output: outputOption('the occlusion map'),
      target: targetOption,
      objective: objectiveOption,
      window: {
        type: 'integer',
        min: 1,
        placeholder: '<px>',
        description: 'occluding patch size (default: 1/4 of the image side)',
      },
      stride: {
        type: 'integer',
        min: 1,
        placeholder: '<px>',
        description: 'step between patches (default: half the window)',
      },
      baseline: {
        type: 'number',
        default: 0,
        placeholder: '<v>',
        description: 'value of the occluding patch, 0..1 (0 = black, 0.5 = grey)',
      },
      size: sizeOption,
      ...viewOptions,
    },
    examples: ['cnnviz occlusion fashion-sneaker -m fashion-cnn --window 6 --stride 2 -o occlusion.png'],
  },
  async run(args, ctx) {
    const { runAttribution } = await import('../pipeline.js');
    const a = await import('@cnnviz/attribution');
    const v = args.values;
    return runAttribution(args, ctx, {
      suffix: 'occlusion',
      defaultView: 'overlay',
      async explain(lm, image, t, hooks) {
        const side = Math.min(image.shape[0], image.shape[1]);
        const window = (v.window as number | undefined) ?? Math.max(2, Math.round(side / 4));
        const stride = (v.stride as number | undefined) ?? Math.max(1, Math.round(window / 2));
        const r = await a.occlusion(lm.model, image, {
          target: t.target,
          objective: t.objective,
          window,
          stride,
          baseline: v.baseline as number,
          signal: hooks.signal,
          onProgress: hooks.onProgress,
        });
        return {
          map: r.map,
          signed: r.signed,
          extra: { window, stride, baseline: v.baseline },
          dispose: () => r.dispose(),
        };
      },
    });
  },
};
