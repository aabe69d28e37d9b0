import type { Command } from '../command.js';
import { imagesPositional, modelOption, outputOption, seedOption, sizeOption } from '../command.js';

/** `cnnviz adversarial`: an imperceptible change that flips the model's decision. */
export const adversarial: Command = {
  spec: {
    name: 'adversarial',
    summary: 'adversarial example: a small change to the image that changes the predicted class (FGSM, PGD)',
    description:
      "Untargeted: step along the sign of the gradient of the loss of the true class (FGSM, Goodfellow et al. 2015) or repeat small projected steps (PGD, Madry et al. 2018). Targeted (--target): push towards a class. Every pixel stays within --epsilon of the original. The output is the adversarial image at the model's input size; the prediction reported is that of the saved 8-bit PNG.",
    positionals: imagesPositional,
    options: {
      model: modelOption('fashion-cnn'),
      output: outputOption('the adversarial image'),
      target: {
        type: 'string',
        short: 't',
        placeholder: '<class>',
        description: 'class to push towards (default: untargeted, away from the predicted class)',
      },
      method: {
        type: 'string',
        choices: ['fgsm', 'pgd'],
        default: 'pgd',
        placeholder: '<m>',
        description: 'attack',
      },
      epsilon: {
        type: 'number',
        min: 0,
        max: 1,
        default: 0.1,
        placeholder: '<e>',
        description: 'largest change of a pixel (0..1)',
      },
      steps: { type: 'integer', min: 1, default: 20, placeholder: '<n>', description: 'PGD steps' },
      'step-size': {
        type: 'number',
        min: 0,
        placeholder: '<x>',
        description: 'PGD step (default 2.5 epsilon / steps)',
      },
      perturbation: {
        type: 'string',
        placeholder: '<path>',
        description: 'also write the perturbation (grey = 0) to this .png',
      },
      seed: seedOption,
      size: sizeOption,
      scale: {
        type: 'integer',
        min: 1,
        max: 64,
        default: 1,
        placeholder: '<n>',
        description: 'enlarge the output n times (1 keeps it a valid model input)',
      },
    },
    examples: [
      'cnnviz adversarial fashion-sneaker -m fashion-cnn --target Bag --epsilon 0.1 -o sneaker-as-bag.png',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { CliError } = await import('../errors.js');
    const { checkWritableDir } = await import('../output.js');
    const { dirname } = await import('node:path');
    if (v.perturbation !== undefined) {
      if (args.positionals.length > 1)
        throw new CliError('BAD_OPTION', '--perturbation takes one image; run one image at a time');
      if (!String(v.perturbation).toLowerCase().endsWith('.png'))
        throw new CliError('BAD_OPTION', '--perturbation must end in .png');
      checkWritableDir(dirname(String(v.perturbation)));
    }
    const tf = await import('@tensorflow/tfjs-core');
    const { prepare, enlarge } = await import('../pipeline.js');
    const s = await import('../session.js');
    const syn = await import('@cnnviz/synthesis');
    const p = await prepare(args, ctx, 'adversarial');
    const lines: string[] = [];
    const results: Record<string, unknown>[] = [];
    const name = (k: number) => `${k}${p.lm.labels?.[k] ? ` (${p.lm.labels[k]})` : ''}`;
    try {
      const classes = s.logitCount(p.lm.model, p.images[0]);
      const target =
        v.target === undefined ? undefined : s.classIndex(String(v.target), p.lm.labels, classes);
      for (let i = 0; i < p.images.length; i++) {
        const start = performance.now();
        const bar = ctx.bar('adversarial');
        const r = await syn
          .adversarial(p.lm.model, p.images[i], {
            method: v.method as 'fgsm' | 'pgd',
            epsilon: v.epsilon as number,
            ...(target !== undefined ? { target } : {}),
            steps: v.steps as number,
            ...(v['step-size'] !== undefined ? { stepSize: v['step-size'] as number } : {}),
            seed: v.seed as number,
            signal: ctx.signal,
            onProgress: (st) => bar.update(st.step, st.steps, `loss ${st.loss.toPrecision(3)}`),
          })
          .finally(() => bar.done());
        try {
          // What gets saved is 8-bit: judge the attack on the image a reader of the PNG will see.
          const saved = tf.tidy(
            () => tf.div(tf.round(tf.mul(r.image, 255)), 255) as import('@tensorflow/tfjs-core').Tensor3D,
          );
          const [after] = await s.predict(p.lm.model, saved, p.lm.labels, 1);
          const big = enlarge(saved, v.scale as number);
          saved.dispose();
          try {
            await s.save(ctx, p.outputs[i], big);
          } finally {
            big.dispose();
          }
          if (v.perturbation !== undefined)
            await s.save(
              ctx,
              String(v.perturbation),
              r.perturbation as import('@tensorflow/tfjs-core').Tensor3D,
            );
          const ms = s.since(start);
          const before = r.before as { label: number; prob: number };
          const success = target !== undefined ? after.index === target : after.index !== before.label;
          lines.push(
            `${p.outputs[i]}  (${p.inputs[i].name}: ${name(before.label)} p=${before.prob.toFixed(2)} → ${name(after.index)} p=${after.prob.toFixed(2)}; ${success ? 'attack succeeded' : 'attack failed: raise --epsilon or --steps'}; ${ms} ms)`,
          );
          results.push({
            input: p.inputs[i].name,
            output: p.outputs[i],
            before: { index: before.label, label: p.lm.labels?.[before.label], prob: before.prob },
            after: { index: after.index, label: after.label, prob: after.prob },
            target,
            success,
            epsilon: v.epsilon,
            method: v.method,
            ms,
          });
        } finally {
          r.dispose();
        }
      }
    } finally {
      p.dispose();
    }
    return {
      lines,
      json: { command: 'adversarial', model: p.lm.ref.name, backend: p.backend.name, results },
    };
  },
};
