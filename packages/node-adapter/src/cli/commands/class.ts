import type { Command } from '../command.js';
import {
  lrOption,
  modelOption,
  objectiveOption,
  outputOption,
  scaleOption,
  seedOption,
  stepsOption,
} from '../command.js';

/** `cnnviz class`: gradient ascent to the image a class (or a neuron) wants. */
export const classViz: Command = {
  spec: {
    name: 'class',
    summary: 'synthesise the image that maximises a class score or a neuron (gradient ascent)',
    description:
      "Starts from grey noise and follows the gradient of the class logit, with the lecture's regularisers: L2 decay, Gaussian blur every few steps, clipping of small pixels and small gradients, and jitter (Simonyan et al. 2014; Yosinski et al. 2015). --objective visualises a channel or neuron instead, by default with Lucid's Fourier parameterisation.",
    options: {
      model: modelOption('fashion-cnn'),
      output: outputOption('the synthesised image'),
      target: {
        type: 'string',
        short: 't',
        placeholder: '<class>',
        description: 'class to maximise: index or label',
      },
      objective: objectiveOption,
      steps: stepsOption(),
      lr: lrOption,
      l2: {
        type: 'number',
        min: 0,
        placeholder: '<x>',
        description: 'L2 decay per step (pixel parameterisation)',
      },
      'blur-every': {
        type: 'integer',
        min: 0,
        placeholder: '<n>',
        description: 'blur every n steps (0 = never)',
      },
      'blur-sigma': { type: 'number', min: 0, placeholder: '<px>', description: 'blur strength' },
      'clip-value': {
        type: 'number',
        min: 0,
        max: 1,
        placeholder: '<f>',
        description: 'set this fraction of the weakest pixels to grey each step',
      },
      'clip-gradient': {
        type: 'number',
        min: 0,
        max: 1,
        placeholder: '<f>',
        description: 'zero the gradient of this fraction of pixels each step',
      },
      jitter: { type: 'integer', min: 0, placeholder: '<px>', description: 'random shift before each step' },
      param: {
        type: 'string',
        choices: ['pixel', 'fourier'],
        placeholder: '<p>',
        description: 'image parameterisation (default pixel for classes, fourier for objectives)',
      },
      size: {
        type: 'integer',
        min: 16,
        max: 1024,
        placeholder: '<px>',
        description: 'output size for models that take any size (default 128)',
      },
      seed: seedOption,
      scale: scaleOption,
    },
    examples: [
      'cnnviz class -m fashion-cnn --target Sneaker --steps 200 -o sneaker.png',
      'cnnviz class -m mobilenet-v2 --objective block_13_expand_relu:42 --size 128 -o unit.png',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { parseModelRef, loadModelRef } = await import('../model-arg.js');
    const { singleOutput } = await import('../output.js');
    const { CliError } = await import('../errors.js');
    const ref = parseModelRef(String(v.model));
    if (v.target === undefined && v.objective === undefined) {
      throw new CliError(
        'BAD_OPTION',
        'say what to maximise: --target <class> or --objective <layer:unit>; see `cnnviz class --help`',
      );
    }
    if (v.target !== undefined && v.objective !== undefined)
      throw new CliError('BAD_OPTION', 'give --target or --objective, not both');
    const name = v.target !== undefined ? `class-${String(v.target)}` : `unit-${String(v.objective)}`;
    const out = singleOutput(v.output as string | undefined, name.replace(/[^A-Za-z0-9._-]+/g, '_'));
    const s = await import('../session.js');
    const { synthesize } = await import('../pipeline.js');
    const syn = await import('@cnnviz/synthesis');
    const backend = await s.startBackend(ctx, v.backend);
    // A zoo backbone is built for the output size: the transformed image then reaches the network at
    // about its own size (as in Lucid) instead of being upsampled to the default 299 px of InceptionV3,
    // which cost 1.8x the work per step.
    const lm = await loadModelRef(ref, v.size as number | undefined);
    const common = {
      steps: v.steps as number | undefined,
      lr: v.lr as number | undefined,
      l2: v.l2 as number | undefined,
      blurEvery: v['blur-every'] as number | undefined,
      blurSigma: v['blur-sigma'] as number | undefined,
      clipValue: v['clip-value'] as number | undefined,
      clipGradient: v['clip-gradient'] as number | undefined,
      jitter: v.jitter as number | undefined,
      param: v.param as 'pixel' | 'fourier' | undefined,
      size: v.size as number | undefined,
      seed: v.seed as number,
      signal: ctx.signal,
    };
    const opts = Object.fromEntries(Object.entries(common).filter(([, x]) => x !== undefined));
    let what: string;
    let steps: AsyncIterable<import('@cnnviz/core').Step>;
    if (v.target !== undefined) {
      const classes = lm.labels?.length ?? (await classCount(lm.model));
      const k = s.classIndex(String(v.target), lm.labels, classes);
      what = `class ${k}${lm.labels?.[k] ? ` (${lm.labels[k]})` : ''}`;
      steps = syn.visualizeClass(lm.model, { ...opts, target: k });
    } else {
      what = `objective ${String(v.objective)}`;
      steps = syn.visualizeUnit(lm.model, String(v.objective), opts);
    }
    const r = await synthesize(ctx, 'class', steps, out, v.scale);
    return {
      lines: [`${out}  (${what}; ${r.size.join('x')} px; final loss ${r.loss.toPrecision(4)}; ${r.ms} ms)`],
      json: {
        command: 'class',
        model: ref.name,
        backend: backend.name,
        target: what,
        output: out,
        loss: r.loss,
        ms: r.ms,
      },
    };
  },
};

async function classCount(model: import('@cnnviz/core').VisionModel): Promise<number> {
  const tf = await import('@tensorflow/tfjs-core');
  const [h, w, c] = model.inputShape;
  return tf.tidy(
    () =>
      model.forward(
        model.preprocess(tf.zeros([1, h ?? 128, w ?? 128, c]) as import('@tensorflow/tfjs-core').Tensor4D),
      ).logits.shape[1],
  );
}
