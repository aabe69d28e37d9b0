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

/** `cnnviz gradcam`: Grad-CAM or Grad-CAM++ heat over the image. */
export const gradcam: Command = {
  spec: {
    name: 'gradcam',
    summary: 'where in the image the evidence for a class is (Grad-CAM, Grad-CAM++)',
    description:
      "Grad-CAM (Selvaraju et al. 2017) weights a convolution layer's channels by the mean gradient of the class score and keeps the positive part: a coarse map of the regions that support the class. Grad-CAM++ (Chattopadhay et al. 2018) weights by higher-order terms, which covers several instances better.",
    positionals: imagesPositional,
    options: {
      model: modelOption('fashion-cnn'),
      output: outputOption('the heat map'),
      target: targetOption,
      objective: objectiveOption,
      layer: {
        type: 'string',
        short: 'l',
        placeholder: '<name>',
        description: 'convolution layer (default: the last one; `cnnviz layers` lists them)',
      },
      'plus-plus': { type: 'boolean', description: 'Grad-CAM++ instead of Grad-CAM' },
      size: sizeOption,
      ...viewOptions,
    },
    examples: [
      'cnnviz gradcam fashion-bag -m fashion-cnn -o gradcam.png',
      'cnnviz gradcam "photos/*.jpg" -m mobilenet-v2 --layer block_16_project --view side -o out/',
    ],
  },
  async run(args, ctx) {
    const { runAttribution } = await import('../pipeline.js');
    const a = await import('@cnnviz/attribution');
    const v = args.values;
    const plus = v['plus-plus'] === true;
    return runAttribution(args, ctx, {
      suffix: plus ? 'gradcampp' : 'gradcam',
      defaultView: 'overlay',
      fallbackLayer: (lm) => (v.layer as string | undefined) ?? a.defaultCamLayer(lm.model),
      async explain(lm, image, t, hooks) {
        const opts = {
          target: t.target,
          objective: t.objective,
          layer: v.layer as string | undefined,
          signal: hooks.signal,
          onProgress: hooks.onProgress,
        };
        const r = plus
          ? await a.gradCamPlusPlus(lm.model, image, opts)
          : await a.gradCam(lm.model, image, opts);
        return {
          map: r.map,
          signed: r.signed,
          extra: { layer: r.layer, variant: plus ? 'grad-cam++' : 'grad-cam' },
          dispose: () => r.dispose(),
        };
      },
    });
  },
};
