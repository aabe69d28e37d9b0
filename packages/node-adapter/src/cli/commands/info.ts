import type { Command } from '../command.js';

/** `cnnviz info`: the backend in use, why, and what models and images are at hand. */
export const info: Command = {
  spec: {
    name: 'info',
    summary: 'the TF.js backend cnnviz picked and why, kernel fixes, zoo models and bundled images',
    description:
      'With --model, also the model: input size and range, number of layers, classes and its recommended layers.',
    options: {
      model: {
        type: 'string',
        short: 'm',
        placeholder: '<name|path>',
        description: 'also describe this model',
      },
    },
    examples: ['cnnviz info', 'cnnviz info --model fashion-cnn --json'],
  },
  async run(args, ctx) {
    const v = args.values;
    const { parseModelRef, loadModelRef, bundledImageNames, ZOO_NAMES } = await import('../model-arg.js');
    const ref = typeof v.model === 'string' ? parseModelRef(v.model) : undefined;
    const s = await import('../session.js');
    const tf = await import('@tensorflow/tfjs-core');
    const backend = await s.startBackend({ ...ctx, note: () => undefined }, v.backend);
    const images = await bundledImageNames();
    const json: Record<string, unknown> = {
      command: 'info',
      node: process.version,
      tfjs: tf.version_core,
      backend: {
        name: backend.name,
        reason: backend.reason,
        fixes: backend.fixes,
        tried: backend.tried,
        threads: backend.threads,
        adapter: backend.adapter,
        precision: backend.precision,
        precisionReason: backend.precisionReason,
      },
      zoo: [...ZOO_NAMES],
      images,
    };
    const lines = [
      `backend:  ${backend.name}${backend.threads ? ` (${backend.threads} threads)` : ''}`,
      `why:      ${backend.reason}`,
      `fixes:    ${backend.fixes.length ? backend.fixes.join(', ') : 'none'}`,
      `precision: ${backend.precisionReason}`,
      ...backend.tried.filter((t) => !t.ok).map((t) => `skipped:  ${t.name}: ${t.why}`),
      `node ${process.version}, tfjs-core ${tf.version_core}`,
      `zoo:      ${ZOO_NAMES.join(', ')}`,
      `images:   ${images.join(', ') || 'none'}`,
    ];
    if (ref) {
      const lm = await loadModelRef(ref, v.size as number | undefined);
      const m = lm.model;
      const model = {
        name: ref.name,
        inputShape: m.inputShape,
        inputRange: m.inputRange,
        layers: m.layers.length,
        classes: lm.labels?.length,
        labels: lm.labels,
        layersOfInterest: lm.layersOfInterest,
      };
      json.model = model;
      lines.push(
        '',
        `model:    ${ref.name}`,
        `input:    [${m.inputShape.map((d) => d ?? 'any').join(', ')}]${m.inputRange ? ` range ${JSON.stringify(m.inputRange)}` : ''}`,
        `layers:   ${m.layers.length} (\`cnnviz layers -m ${ref.name}\` lists them)`,
      );
      if (lm.labels) lines.push(`classes:  ${lm.labels.map((l, i) => `${i} ${l}`).join(', ')}`);
      for (const [k, l] of Object.entries(lm.layersOfInterest))
        lines.push(`${`${k}:`.padEnd(10)}${Array.isArray(l) ? l.join(', ') : String(l)}`);
    }
    return { lines, json };
  },
};
