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

/** `cnnviz texture`: a new texture with the same Gram statistics as the input. */
export const texture: Command = {
  spec: {
    name: 'texture',
    summary: "texture synthesis: a new image with the input's Gram-matrix statistics (Gatys et al. 2015)",
    description:
      'From noise, matches the Gram matrices (channel co-occurrences averaged over positions) of the texture image at several layers. The output can have any size.',
    positionals: imagesPositional,
    options: {
      model: modelOption('mobilenet-v2'),
      output: outputOption('the texture'),
      layers: {
        type: 'list',
        placeholder: '<a,b,...>',
        description: "layers whose Gram matrices are matched (default: the zoo model's style layers)",
      },
      weights: {
        type: 'list',
        placeholder: '<w1,w2,...>',
        description: 'one weight per layer (default equal)',
      },
      'out-size': {
        type: 'integer',
        min: 16,
        max: 2048,
        placeholder: '<px>',
        description: "output side (default: the texture's size)",
      },
      steps: stepsOption(),
      optimizer: {
        type: 'string',
        choices: ['adam', 'lbfgs'],
        placeholder: '<o>',
        description: 'optimiser (default adam)',
      },
      lr: lrOption,
      seed: seedOption,
      size: sizeOption,
      scale: scaleOption,
    },
    examples: ['cnnviz texture brick -m mobilenet-v2 --size 128 --steps 200 -o brick-texture.png'],
  },
  async run(args, ctx) {
    const v = args.values;
    const { prepare, synthesize } = await import('../pipeline.js');
    const syn = await import('@cnnviz/synthesis');
    const { CliError } = await import('../errors.js');
    const weights = (v.weights as string[] | undefined)?.map((w) => {
      const n = Number(w);
      if (!Number.isFinite(n) || n < 0)
        throw new CliError('BAD_OPTION', `--weights must be non-negative numbers, got "${w}"`);
      return n;
    });
    const p = await prepare(args, ctx, 'texture');
    const lines: string[] = [];
    const results: Record<string, unknown>[] = [];
    try {
      for (let i = 0; i < p.images.length; i++) {
        const opts = Object.fromEntries(
          Object.entries({
            layers: (v.layers as string[] | undefined) ?? p.lm.layersOfInterest.style,
            weights,
            size: v['out-size'] as number | undefined,
            steps: v.steps,
            optimizer: v.optimizer,
            lr: v.lr,
            seed: v.seed,
            signal: ctx.signal,
          }).filter(([, x]) => x !== undefined),
        );
        const r = await synthesize(
          ctx,
          'texture',
          syn.synthesizeTexture(p.lm.model, p.images[i], opts),
          p.outputs[i],
          v.scale,
        );
        lines.push(`${p.outputs[i]}  (${p.inputs[i].name}; style loss ${r.loss.toPrecision(3)}; ${r.ms} ms)`);
        results.push({
          input: p.inputs[i].name,
          output: p.outputs[i],
          layers: (v.layers as string[] | undefined) ?? p.lm.layersOfInterest.style,
          loss: r.loss,
          ms: r.ms,
        });
      }
    } finally {
      p.dispose();
    }
    return { lines, json: { command: 'texture', model: p.lm.ref.name, backend: p.backend.name, results } };
  },
};
