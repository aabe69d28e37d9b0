import type { Command } from '../command.js';
import {
  imagesPositional,
  lrOption,
  modelOption,
  outputOption,
  scaleOption,
  seedOption,
  sizeOption,
  stepsOption,
} from '../command.js';

/** `cnnviz invert`: reconstruct an image from its features at one layer. */
export const invert: Command = {
  spec: {
    name: 'invert',
    summary:
      "feature inversion: the image whose features at a layer match the input's (Mahendran & Vedaldi 2015)",
    description:
      'Starts from noise and matches the features of the input at --layer, with a total-variation prior. Shallow layers reconstruct the image almost exactly; deep layers keep the layout and lose the detail.',
    positionals: imagesPositional,
    options: {
      model: modelOption('mobilenet-v2'),
      output: outputOption('the reconstruction'),
      layer: {
        type: 'string',
        short: 'l',
        placeholder: '<name>',
        description: "layer whose features are matched (default: the zoo model's content layer)",
      },
      steps: stepsOption(),
      tv: {
        type: 'number',
        min: 0,
        placeholder: '<w>',
        description: 'total-variation weight (default 0.05)',
      },
      lr: lrOption,
      seed: seedOption,
      size: sizeOption,
      scale: scaleOption,
    },
    examples: [
      'cnnviz invert chelsea -m mobilenet-v2 --layer block_3_expand_relu --steps 200 -o inverted.png',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { prepare, synthesize } = await import('../pipeline.js');
    const syn = await import('@cnnviz/synthesis');
    const { CnnvizError } = await import('@cnnviz/core');
    const p = await prepare(args, ctx, 'invert');
    const lines: string[] = [];
    const results: Record<string, unknown>[] = [];
    try {
      const layer = (v.layer as string | undefined) ?? (p.lm.layersOfInterest.content as string | undefined);
      if (!layer)
        throw new CnnvizError('BAD_OPTION', 'this model has no default content layer; pass --layer');
      for (let i = 0; i < p.images.length; i++) {
        const opts = Object.fromEntries(
          Object.entries({
            layer,
            steps: v.steps,
            tv: v.tv,
            lr: v.lr,
            seed: v.seed,
            signal: ctx.signal,
          }).filter(([, x]) => x !== undefined),
        ) as { layer: string };
        const r = await synthesize(
          ctx,
          'invert',
          syn.invertFeatures(p.lm.model, p.images[i], opts),
          p.outputs[i],
          v.scale,
        );
        lines.push(
          `${p.outputs[i]}  (${p.inputs[i].name}: ${layer}; loss ${r.loss.toPrecision(3)}; ${r.ms} ms)`,
        );
        results.push({ input: p.inputs[i].name, output: p.outputs[i], layer, loss: r.loss, ms: r.ms });
      }
    } finally {
      p.dispose();
    }
    return { lines, json: { command: 'invert', model: p.lm.ref.name, backend: p.backend.name, results } };
  },
};
