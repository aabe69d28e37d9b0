import type { Command } from '../command.js';
import { modelOption, sizeOption } from '../command.js';

/** `cnnviz layers`: every layer of a model with its kind and output shape. */
export const layers: Command = {
  spec: {
    name: 'layers',
    summary: 'list the layers of a model (name, kind, output shape): the names --layer and --objective take',
    options: {
      model: modelOption('fashion-cnn'),
      filter: {
        type: 'string',
        placeholder: '<text>',
        description: 'only layers whose name or kind contains this text',
      },
      size: sizeOption,
    },
    examples: ['cnnviz layers -m mobilenet-v2 --filter expand_relu', 'cnnviz layers -m fashion-cnn --json'],
  },
  async run(args, ctx) {
    const v = args.values;
    const { parseModelRef, loadModelRef } = await import('../model-arg.js');
    const ref = parseModelRef(String(v.model));
    const s = await import('../session.js');
    await s.startBackend({ ...ctx, note: () => undefined }, v.backend);
    const lm = await loadModelRef(ref, v.size as number | undefined);
    const needle = typeof v.filter === 'string' ? v.filter.toLowerCase() : undefined;
    const list = lm.model.layers.filter(
      (l) => !needle || l.name.toLowerCase().includes(needle) || l.kind.toLowerCase().includes(needle),
    );
    const shape = (s: (number | null)[]) => `[${s.map((d) => d ?? '?').join(',')}]`;
    const w = Math.max(4, ...list.map((l) => l.name.length));
    const k = Math.max(4, ...list.map((l) => l.kind.length));
    const lines = [
      `${'name'.padEnd(w)}  ${'kind'.padEnd(k)}  output`,
      ...list.map((l) => `${l.name.padEnd(w)}  ${l.kind.padEnd(k)}  ${shape(l.outputShape)}`),
    ];
    const interest = Object.entries(lm.layersOfInterest);
    if (interest.length)
      lines.push(
        '',
        ...interest.map(([name, l]) => `${name}: ${Array.isArray(l) ? l.join(', ') : String(l)}`),
      );
    return {
      lines,
      json: {
        command: 'layers',
        model: ref.name,
        inputShape: lm.model.inputShape,
        layers: list.map((l) => ({
          name: l.name,
          kind: l.kind,
          outputShape: l.outputShape,
          ...(l.kernel ? { kernel: l.kernel } : {}),
        })),
        layersOfInterest: lm.layersOfInterest,
      },
    };
  },
};
