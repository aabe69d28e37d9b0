import type { Command } from '../command.js';
import { modelOption, sizeOption } from '../command.js';
import { extractOptions, storeOptions } from '../datasets.js';
import { dataPositional } from './extract.js';

/** `cnnviz audit`: a model audit in one command: predictions, features and a Grad-CAM per image. */
export const audit: Command = {
  spec: {
    name: 'audit',
    summary: 'audit a model on a whole image set: prediction, features and a Grad-CAM/saliency map per image',
    description:
      "Runs `cnnviz extract` with an attribution map stored next to each image's features (Grad-CAM at the layer's resolution, or a saliency map), then reports accuracy against the labels (folder names or the manifest) where they name the model's classes, the confusions, and the least confident images. Resumable like extract. Needs @cnnviz/datasets.",
    positionals: dataPositional,
    options: {
      model: modelOption('fashion-cnn'),
      ...storeOptions,
      ...extractOptions,
      method: {
        type: 'string',
        choices: ['gradcam', 'saliency'],
        default: 'gradcam',
        placeholder: '<m>',
        description: 'attribution per image',
      },
      'cam-layer': {
        type: 'string',
        placeholder: '<name>',
        description: "Grad-CAM's layer (default: the last convolution block)",
      },
      size: sizeOption,
    },
    examples: ['cnnviz audit val/ -m fashion-cnn --table val-audit --json > audit.json'],
  },
  async run(args, ctx) {
    const v = args.values;
    const { runExtract } = await import('./extract-run.js');
    const out = await runExtract(
      args,
      ctx,
      'audit',
      v.method as 'gradcam' | 'saliency',
      v['cam-layer'] as string | undefined,
    );
    const { loadDatasets } = await import('../datasets.js');
    const ds = await loadDatasets('audit');
    const { loadModelRef, parseModelRef } = await import('../model-arg.js');
    const labels = (await loadModelRef(parseModelRef(String(v.model)), v.size as number | undefined)).labels;
    const table = await ds.openTable({ store: v.store as string, table: out.summary.table });
    const rows = (await table!.query().select(['path', 'label', 'prediction', 'probability']).toArray()) as {
      path: string;
      label: string | null;
      prediction: number;
      probability: number;
    }[];
    const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
    const classOf = (label: string | null) => {
      if (label === null) return undefined;
      if (/^\d+$/.test(label)) return Number(label);
      const i = labels?.findIndex((l) => norm(l) === norm(label)) ?? -1;
      return i >= 0 ? i : undefined;
    };
    const named = (c: number) => labels?.[c] ?? String(c);
    const known = rows.filter((r) => classOf(r.label) !== undefined);
    const right = known.filter((r) => classOf(r.label) === r.prediction).length;
    const confusions = new Map<string, number>();
    for (const r of known)
      if (classOf(r.label) !== r.prediction) {
        const key = `${named(classOf(r.label)!)} -> ${named(r.prediction)}`;
        confusions.set(key, (confusions.get(key) ?? 0) + 1);
      }
    const top = [...confusions].sort((a, b) => b[1] - a[1]).slice(0, 5);
    const unsure = [...rows].sort((a, b) => a.probability - b.probability).slice(0, 5);
    const lines = [...out.lines];
    if (known.length)
      lines.push(
        `accuracy ${((100 * right) / known.length).toFixed(1)} % on ${known.length} labelled images`,
        ...top.map(([k, n]) => `  ${n} x ${k}`),
      );
    lines.push(
      'least confident:',
      ...unsure.map((r) => `  ${r.path}: ${named(r.prediction)} p=${r.probability.toFixed(2)}`),
    );
    return {
      lines,
      json: {
        ...out.json,
        method: v.method,
        ...(known.length ? { accuracy: right / known.length, labelled: known.length } : {}),
        confusions: Object.fromEntries(top),
        leastConfident: unsure.map((r) => ({
          path: r.path,
          prediction: named(r.prediction),
          probability: r.probability,
        })),
      },
    };
  },
};
