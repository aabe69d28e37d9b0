import type { Command } from '../command.js';
import { imagesPositional, modelOption, outputOption, sizeOption } from '../command.js';

/** `cnnviz patches`: the image patches that excite one channel most. */
export const patches: Command = {
  spec: {
    name: 'patches',
    summary: 'maximally activating patches of one channel over many images',
    description:
      "Runs every image, ranks the units of one channel of a convolution layer and shows the k image patches (the units' receptive fields) with the highest activation, best first — the lecture's 'conv5 channel 17' grid.",
    positionals: {
      ...imagesPositional,
      description: 'images to search (quoted globs such as "photos/*.jpg" welcome)',
    },
    options: {
      model: modelOption('fashion-cnn'),
      output: outputOption('the patch grid'),
      layer: {
        type: 'string',
        short: 'l',
        placeholder: '<name>',
        description: 'spatial layer (default: the last convolution)',
      },
      channel: {
        type: 'integer',
        short: 'c',
        min: 0,
        default: 0,
        placeholder: '<n>',
        description: 'channel of the layer',
      },
      k: {
        type: 'integer',
        short: 'k',
        min: 1,
        default: 9,
        placeholder: '<n>',
        description: 'number of patches',
      },
      distinct: { type: 'boolean', description: 'at most one patch per image' },
      'patch-size': {
        type: 'integer',
        min: 8,
        default: 64,
        placeholder: '<px>',
        description: 'each patch is shown at this size',
      },
      size: sizeOption,
    },
    examples: [
      'cnnviz patches "packages/models/assets/images/fashion-*.png" -m fashion-cnn --layer conv3 --channel 5 -k 6 -o patches.png',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { prepare } = await import('../pipeline.js');
    const { singleOutput } = await import('../output.js');
    const out = singleOutput(v.output as string | undefined, 'patches');
    const tf = await import('@tensorflow/tfjs-core');
    const { tileGrid } = await import('@cnnviz/core');
    const a = await import('@cnnviz/attribution');
    const s = await import('../session.js');
    const p = await prepare(args, ctx, undefined);
    const start = performance.now();
    const bar = ctx.bar('patches');
    try {
      const layer = (v.layer as string | undefined) ?? a.defaultCamLayer(p.lm.model);
      const found = await a.topPatches(p.lm.model, p.images, {
        layer: layer as string,
        channel: v.channel as number,
        k: v.k as number,
        distinctImages: v.distinct === true,
        signal: ctx.signal,
        onProgress: ({ done, total }) => bar.update(done, total),
      });
      bar.done();
      const side = v['patch-size'] as number;
      const tiles = found.map((f) =>
        tf.tidy(() => {
          const rgb = f.patch.shape[2] === 1 ? tf.tile(f.patch, [1, 1, 3]) : f.patch;
          return tf.image.resizeNearestNeighbor(rgb as import('@tensorflow/tfjs-core').Tensor3D, [
            side,
            side,
          ]);
        }),
      );
      const grid = tileGrid(tiles, { cols: Math.ceil(Math.sqrt(tiles.length)), pad: 2 });
      tf.dispose(tiles);
      found.forEach((f) => f.patch.dispose());
      try {
        await s.save(ctx, out, grid);
      } finally {
        grid.dispose();
      }
      const ms = s.since(start);
      const list = found.map((f) => ({
        input: p.inputs[f.imageIndex].name,
        y: f.y,
        x: f.x,
        value: f.value,
        box: f.box,
      }));
      return {
        lines: [
          `${out}  (${found.length} patches of ${layer} channel ${String(v.channel)} from ${p.inputs.length} images; ${ms} ms)`,
        ],
        json: {
          command: 'patches',
          model: p.lm.ref.name,
          backend: p.backend.name,
          layer,
          channel: v.channel,
          output: out,
          patches: list,
          ms,
        },
      };
    } finally {
      bar.done();
      p.dispose();
    }
  },
};
