import type { Command } from '../command.js';
import {
  lrOption,
  modelOption,
  outputOption,
  scaleOption,
  seedOption,
  sizeOption,
  stepsOption,
} from '../command.js';

/** `cnnviz style`: neural style transfer, one or several weighted styles. */
export const style: Command = {
  spec: {
    name: 'style',
    summary: 'style transfer: the content of one image in the style of others (Gatys et al. 2016)',
    description:
      'Optimises an image so its features at the content layer match the content image and its Gram matrices at the style layers match the style images; several --style images blend by weight (path:weight).',
    positionals: { name: 'content', description: 'the content image (file or bundled name)', required: true },
    options: {
      model: modelOption('mobilenet-v2'),
      output: outputOption('the stylised image'),
      style: {
        type: 'list',
        short: 's',
        placeholder: '<path[:w]>',
        description: 'style image, optionally with a weight; repeat to blend styles',
      },
      'content-layer': {
        type: 'string',
        placeholder: '<name>',
        description: "content layer (default: the zoo model's)",
      },
      'style-layers': {
        type: 'list',
        placeholder: '<a,b,...>',
        description: "style layers (default: the zoo model's)",
      },
      'content-weight': {
        type: 'number',
        min: 0,
        placeholder: '<w>',
        description: 'content loss weight (default 1)',
      },
      'style-weight': {
        type: 'number',
        min: 0,
        placeholder: '<w>',
        description: 'style loss weight (default 10)',
      },
      'tv-weight': {
        type: 'number',
        min: 0,
        placeholder: '<w>',
        description: 'total-variation weight (default 1)',
      },
      'preserve-color': { type: 'boolean', description: "keep the content image's colours" },
      steps: stepsOption(),
      lr: lrOption,
      seed: seedOption,
      size: sizeOption,
      scale: scaleOption,
    },
    examples: [
      'cnnviz style chelsea --style starry_night -m mobilenet-v2 --size 256 --steps 200 -o chelsea-starry.png',
      'cnnviz style photo.jpg --style a.jpg:0.7 --style b.jpg:0.3 -o blend.png',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { CliError } = await import('../errors.js');
    const specs = ((v.style as string[] | undefined) ?? []).map((s) => {
      const m = /^(.*):(\d*\.?\d+)$/.exec(s);
      return m ? { name: m[1], weight: Number(m[2]) } : { name: s, weight: 1 };
    });
    if (specs.length === 0)
      throw new CliError('BAD_OPTION', 'give at least one --style image; see `cnnviz style --help`');
    const { resolveInputs } = await import('../inputs.js');
    const { bundledImageNames } = await import('../model-arg.js');
    const styleInputs = resolveInputs(
      specs.map((s) => s.name),
      await bundledImageNames(),
    );
    if (styleInputs.length !== specs.length)
      throw new CliError('BAD_OPTION', '--style takes one image each (no globs)');
    const { prepare, synthesize } = await import('../pipeline.js');
    const { loadImage } = await import('../session.js');
    const syn = await import('@cnnviz/synthesis');
    const p = await prepare(args, ctx, 'style');
    const styles: { image: import('@tensorflow/tfjs-core').Tensor3D; weight: number }[] = [];
    try {
      for (let i = 0; i < styleInputs.length; i++)
        styles.push({ image: await loadImage(styleInputs[i], p.lm, ctx), weight: specs[i].weight });
      const opts = Object.fromEntries(
        Object.entries({
          contentLayer: v['content-layer'] ?? p.lm.layersOfInterest.content,
          styleLayers: v['style-layers'] ?? p.lm.layersOfInterest.style,
          contentWeight: v['content-weight'],
          styleWeight: v['style-weight'],
          tvWeight: v['tv-weight'],
          preserveColor: v['preserve-color'] === true ? true : undefined,
          steps: v.steps,
          lr: v.lr,
          seed: v.seed,
          signal: ctx.signal,
        }).filter(([, x]) => x !== undefined),
      );
      const r = await synthesize(
        ctx,
        'style',
        syn.transferStyle(p.lm.model, p.images[0], styles, opts),
        p.outputs[0],
        v.scale ?? 1,
      );
      const styleText = specs.map((s) => `${s.name}:${s.weight}`).join(' + ');
      return {
        lines: [
          `${p.outputs[0]}  (${p.inputs[0].name} in the style of ${styleText}; loss ${r.loss.toPrecision(3)}; ${r.ms} ms)`,
        ],
        json: {
          command: 'style',
          model: p.lm.ref.name,
          backend: p.backend.name,
          content: p.inputs[0].name,
          styles: specs,
          output: p.outputs[0],
          loss: r.loss,
          ms: r.ms,
        },
      };
    } finally {
      styles.forEach((s) => s.image.dispose());
      p.dispose();
    }
  },
};
