import type { Command } from '../command.js';
import { modelOption, sizeOption } from '../command.js';

/**
 * `cnnviz layers [model.json]`: every layer of a model with its kind, output shape, and whether cnnviz can
 * differentiate and tap it (a model with a layer it cannot differentiate fails to load, naming it) and whether the
 * conformance suite covers its kind.
 */
export const layers: Command = {
  spec: {
    name: 'layers',
    summary:
      'list the layers of a model (name, kind, output shape, differentiable, tappable, tested): the names --layer and --objective take',
    positionals: {
      name: 'model.json',
      description: 'a TF.js model.json (layers or graph model; Keras 3 exports too), instead of --model',
      required: false,
      variadic: false,
    },
    options: {
      model: modelOption('fashion-cnn'),
      filter: {
        type: 'string',
        placeholder: '<text>',
        description: 'only layers whose name or kind contains this text',
      },
      size: sizeOption,
    },
    examples: [
      'cnnviz layers my-model/model.json',
      'cnnviz layers -m mobilenet-v2 --filter expand_relu',
      'cnnviz layers -m fashion-cnn --json',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { parseModelRef, loadModelRef } = await import('../model-arg.js');
    const ref = parseModelRef(args.positionals[0] ?? String(v.model));
    const s = await import('../session.js');
    await s.startBackend({ ...ctx, note: () => undefined }, v.backend);
    const lm = await loadModelRef(ref, v.size as number | undefined);
    const needle = typeof v.filter === 'string' ? v.filter.toLowerCase() : undefined;
    const list = lm.model.layers.filter(
      (l) => !needle || l.name.toLowerCase().includes(needle) || l.kind.toLowerCase().includes(needle),
    );
    const { layerSupport } = await import('@cnnviz/models');
    const shape = (s: (number | null)[]) => `[${s.map((d) => d ?? '?').join(',')}]`;
    const yes = (b: boolean) => (b ? 'yes' : 'no');
    const rows = list.map((l) => {
      const s = layerSupport(l.kind);
      return [l.name, l.kind, shape(l.outputShape), yes(s.differentiable), yes(s.tappable), yes(s.tested)];
    });
    const head = ['name', 'kind', 'output', 'differentiable', 'tappable', 'tested'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd();
    const lines = [line(head), ...rows.map(line)];
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
          ...layerSupport(l.kind),
          ...(l.kernel ? { kernel: l.kernel } : {}),
        })),
        layersOfInterest: lm.layersOfInterest,
      },
    };
  },
};
