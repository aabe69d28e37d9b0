import type { Command } from '../command.js';
import { modelOption, outputOption } from '../command.js';

/** `cnnviz filters`: a convolution layer's weights as a grid of small pictures. */
export const filters: Command = {
  spec: {
    name: 'filters',
    summary: "a convolution layer's filters as images (first layer: colour edge and blob detectors)",
    description:
      'First-layer filters of an RGB model are shown in colour, one tile per filter. Deeper layers are shown channel by channel in grey, one row per filter (cap them with --max-filters and --max-channels).',
    options: {
      model: modelOption('mobilenet-v2'),
      output: outputOption('the filter grid'),
      layer: {
        type: 'string',
        short: 'l',
        placeholder: '<name>',
        description: 'convolution layer (default: the first one)',
      },
      'max-filters': { type: 'integer', min: 1, placeholder: '<n>', description: 'show at most n filters' },
      'max-channels': {
        type: 'integer',
        min: 1,
        placeholder: '<n>',
        description: 'deeper layers: at most n input channels per filter',
      },
      normalize: {
        type: 'string',
        choices: ['filter', 'tile', 'layer'],
        default: 'filter',
        placeholder: '<how>',
        description: 'scale each filter, each tile, or the whole layer to 0..1',
      },
      scale: {
        type: 'integer',
        min: 1,
        max: 64,
        default: 16,
        placeholder: '<n>',
        description: 'enlarge each weight to n x n pixels',
      },
    },
    examples: [
      'cnnviz filters -m mobilenet-v2 --layer Conv1 -o filters.png',
      'cnnviz filters -m fashion-cnn --max-channels 8 -o fashion-filters.png',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { parseModelRef, loadModelRef } = await import('../model-arg.js');
    const { singleOutput } = await import('../output.js');
    const ref = parseModelRef(String(v.model));
    const out = singleOutput(
      v.output as string | undefined,
      `${ref.name.replace(/[^A-Za-z0-9._-]+/g, '_')}.filters`,
    );
    const s = await import('../session.js');
    const a = await import('@cnnviz/attribution');
    const backend = await s.startBackend(ctx, v.backend);
    const start = performance.now();
    const lm = await loadModelRef(ref);
    const layer = (v.layer as string | undefined) ?? lm.model.layers.find((l) => /conv/i.test(l.kind))?.name;
    if (!layer) {
      const { CnnvizError } = await import('@cnnviz/core');
      throw new CnnvizError('BAD_LAYER', 'the model has no convolution layer; pass --layer');
    }
    const tiles = a.visualizeFilters(lm.model, layer, {
      maxFilters: v['max-filters'] as number | undefined,
      maxChannels: v['max-channels'] as number | undefined,
      normalize: v.normalize as 'filter' | 'tile' | 'layer',
    });
    const [count, kh, kw] = tiles.shape;
    // Deeper layers come filter-major (tile f*C + c): one row per filter reads best.
    const perFilter = await channelsPerTile(
      lm.model,
      layer,
      count,
      v['max-filters'] as number | undefined,
      v['max-channels'] as number | undefined,
    );
    const grid = a.filterGrid(tiles, {
      scale: v.scale as number,
      ...(perFilter > 1 ? { cols: perFilter } : {}),
    });
    tiles.dispose();
    try {
      await s.save(ctx, out, grid);
    } finally {
      grid.dispose();
    }
    const ms = s.since(start);
    return {
      lines: [`${out}  (${count} tiles of ${kh}x${kw} from ${layer}; ${ms} ms)`],
      json: {
        command: 'filters',
        model: ref.name,
        backend: backend.name,
        layer,
        tiles: count,
        kernel: [kh, kw],
        output: out,
        ms,
      },
    };
  },
};

/** Tiles per filter of `visualizeFilters`' output: 1 for RGB first layers, else the channels shown. */
async function channelsPerTile(
  model: import('@cnnviz/core').VisionModel,
  layer: string,
  tiles: number,
  maxFilters: number | undefined,
  maxChannels: number | undefined,
): Promise<number> {
  const tf = await import('@tensorflow/tfjs-core');
  const before = tf.memory().numTensors;
  const weights = model.getWeights?.(layer) ?? [];
  const shape = weights.find((w) => w.rank === 4)?.shape;
  // Adapters hand out live variables or fresh copies; only copies are ours to free.
  if (tf.memory().numTensors > before) tf.dispose(weights);
  if (!shape) return 1;
  const [, , cin, cout] = shape;
  const depthwise = /depthwise/i.test(model.layers.find((l) => l.name === layer)?.kind ?? '');
  if (depthwise || cin === 3) return 1;
  const filters = Math.min(cout, maxFilters ?? Infinity);
  const channels = Math.min(cin, maxChannels ?? Infinity);
  return filters * channels === tiles ? channels : 1;
}
