import type { Command } from '../command.js';
import {
  imagesPositional,
  modelOption,
  objectiveOption,
  outputOption,
  scaleOption,
  sizeOption,
  targetOption,
} from '../command.js';

/** `cnnviz guided`: guided backpropagation (optionally times Grad-CAM) as a picture. */
export const guided: Command = {
  spec: {
    name: 'guided',
    summary:
      'guided backpropagation: the image features a class or a neuron responds to (Springenberg et al. 2015)',
    description:
      "The gradient of the target with every ReLU passing back only positive gradients through positive inputs, shown as an image (grey = 0). With --cam it is multiplied by Grad-CAM (guided Grad-CAM). --objective picks an intermediate neuron, as in the lecture's 'intermediate features via guided backprop'.",
    positionals: imagesPositional,
    options: {
      model: modelOption('fashion-cnn'),
      output: outputOption('the gradient image'),
      target: targetOption,
      objective: objectiveOption,
      cam: { type: 'boolean', description: 'guided Grad-CAM: multiply by the Grad-CAM map' },
      rule: {
        type: 'string',
        choices: ['guided', 'deconvnet'],
        placeholder: '<r>',
        description:
          "ReLU backward rule: guided (default) or deconvnet (Zeiler & Fergus: ignores the forward pass's ReLU masks)",
      },
      layer: {
        type: 'string',
        short: 'l',
        placeholder: '<name>',
        description: 'Grad-CAM layer for --cam (default: the last convolution)',
      },
      size: sizeOption,
      scale: scaleOption,
    },
    examples: [
      'cnnviz guided fashion-trouser -m fashion-cnn -o guided.png',
      'cnnviz guided photo.jpg -m mobilenet-v2 --objective neuron:block_6_expand_relu:17 -o neuron.png',
      'cnnviz guided chelsea -m inception-v3 --objective mixed4:359 --rule deconvnet -o deconvnet.png',
    ],
  },
  async run(args, ctx) {
    const { runAttribution } = await import('../pipeline.js');
    const { gradientPicture } = await import('../render.js');
    const a = await import('@cnnviz/attribution');
    const v = args.values;
    const cam = v.cam === true;
    if (cam && v.rule !== undefined) {
      const { CliError } = await import('../errors.js');
      throw new CliError('BAD_OPTION', '--rule applies to plain guided backprop; leave it out with --cam');
    }
    return runAttribution(args, ctx, {
      suffix: cam ? 'guidedgradcam' : 'guided',
      defaultView: 'heatmap',
      fallbackLayer: (lm) => (v.layer as string | undefined) ?? a.defaultCamLayer(lm.model),
      async explain(lm, image, t, hooks) {
        const base = {
          target: t.target,
          objective: t.objective,
          signal: hooks.signal,
          onProgress: hooks.onProgress,
        };
        const r = cam
          ? await a.guidedGradCam(lm.model, image, { ...base, layer: v.layer as string | undefined })
          : await a.guidedBackprop(lm.model, image, {
              ...base,
              rule: v.rule as 'guided' | 'deconvnet' | undefined,
            });
        const picture = gradientPicture(r.raw as import('@tensorflow/tfjs-core').Tensor3D);
        return {
          map: r.map,
          signed: r.signed,
          picture,
          extra: cam ? { layer: (r as { layer?: string }).layer } : {},
          dispose: () => {
            r.dispose();
            picture.dispose();
          },
        };
      },
    });
  },
};
