import type { Command } from '../command.js';
import {
  imagesPositional,
  modelOption,
  objectiveOption,
  outputOption,
  scaleOption,
  seedOption,
  sizeOption,
} from '../command.js';

/** `cnnviz dream`: DeepDream on an image. */
export const dream: Command = {
  spec: {
    name: 'dream',
    summary: 'DeepDream: amplify what a layer sees in an image (Mordvintsev et al. 2015)',
    description:
      "Gradient ascent on the image itself to maximise the L2 norm of a layer's activation (or any --objective), over several octaves from coarse to fine with random jitter. Shallow layers paint strokes and textures, deep layers eyes and animal parts.",
    positionals: imagesPositional,
    options: {
      model: modelOption('inception-v3'),
      output: outputOption('the dream'),
      layer: {
        type: 'string',
        short: 'l',
        placeholder: '<name>',
        description: "layer to amplify (default: the zoo model's dream layer)",
      },
      objective: objectiveOption,
      octaves: { type: 'integer', min: 1, placeholder: '<n>', description: 'octaves (default 3)' },
      'octave-scale': {
        type: 'number',
        min: 1,
        placeholder: '<x>',
        description: 'size ratio between octaves (default 1.4)',
      },
      steps: { type: 'integer', min: 1, placeholder: '<n>', description: 'steps per octave (default 10)' },
      'step-size': { type: 'number', min: 0, placeholder: '<x>', description: 'step size (default 0.01)' },
      jitter: {
        type: 'integer',
        min: 0,
        placeholder: '<px>',
        description: 'random shift per step (default 16)',
      },
      seed: seedOption,
      size: sizeOption,
      scale: scaleOption,
    },
    examples: ['cnnviz dream photo.jpg -m inception-v3 --layer mixed3 --octaves 3 --steps 10 -o dream.png'],
  },
  async run(args, ctx) {
    const v = args.values;
    const { prepare, synthesize } = await import('../pipeline.js');
    const syn = await import('@cnnviz/synthesis');
    const p = await prepare(args, ctx, 'dream');
    const lines: string[] = [];
    const results: Record<string, unknown>[] = [];
    try {
      // The zoo's dream layer unless the user chose one (passed explicitly: synthesis may not read zoo metadata).
      const dreamLayers = p.lm.layersOfInterest.dream;
      const zooLayer = Array.isArray(dreamLayers) ? dreamLayers[0] : dreamLayers;
      const layer = (v.layer as string | undefined) ?? (v.objective === undefined ? zooLayer : undefined);
      for (let i = 0; i < p.images.length; i++) {
        const opts = Object.fromEntries(
          Object.entries({
            layer,
            objective: v.objective as string | undefined,
            octaves: v.octaves as number | undefined,
            octaveScale: v['octave-scale'] as number | undefined,
            steps: v.steps as number | undefined,
            stepSize: v['step-size'] as number | undefined,
            jitter: v.jitter as number | undefined,
            seed: v.seed as number,
            signal: ctx.signal,
          }).filter(([, x]) => x !== undefined),
        );
        const r = await synthesize(
          ctx,
          'dream',
          syn.deepDream(p.lm.model, p.images[i], opts),
          p.outputs[i],
          v.scale,
        );
        const what = (v.objective as string | undefined) ?? layer ?? 'default dream layer';
        lines.push(`${p.outputs[i]}  (${p.inputs[i].name}: ${what}; ${r.ms} ms)`);
        results.push({
          input: p.inputs[i].name,
          output: p.outputs[i],
          layer,
          objective: v.objective,
          loss: r.loss,
          ms: r.ms,
        });
      }
    } finally {
      p.dispose();
    }
    return { lines, json: { command: 'dream', model: p.lm.ref.name, backend: p.backend.name, results } };
  },
};
