import type { Command } from '../command.js';
import {
  datasetImagesPositional,
  datasetOption,
  modelOption,
  outputOption,
  seedOption,
  sizeOption,
} from '../command.js';

/** `cnnviz atlas`: an Activation Atlas of one layer over many images. */
export const atlas: Command = {
  spec: {
    name: 'atlas',
    summary: 'Activation Atlas: feature visualisations of a whole layer, laid out by t-SNE',
    description:
      "Reads --layer at random positions of every image, lays the activation vectors out in 2-D with t-SNE (after PCA to 50 dimensions), bins the map into a --grid x --grid grid and renders one feature visualisation of each cell's mean activation, all cells in one batch (Carter et al. 2019, Distill). Writes the atlas PNG and, beside it, a JSON with each cell's count and example patches (image and box in the model's input).",
    positionals: datasetImagesPositional,
    options: {
      model: modelOption('fashion-cnn'),
      output: outputOption('the atlas'),
      dataset: datasetOption,
      limit: { type: 'integer', min: 1, placeholder: '<n>', description: 'use at most n images' },
      layer: {
        type: 'string',
        short: 'l',
        placeholder: '<name>',
        description: 'spatial layer (default: the last convolution)',
      },
      grid: {
        type: 'integer',
        min: 1,
        max: 256,
        default: 20,
        placeholder: '<n>',
        description: 'cells per side',
      },
      'per-image': {
        type: 'integer',
        min: 1,
        default: 4,
        placeholder: '<n>',
        description: 'random positions sampled per image',
      },
      'min-count': {
        type: 'integer',
        min: 1,
        default: 3,
        placeholder: '<n>',
        description: 'cells with fewer samples stay empty',
      },
      'icon-size': {
        type: 'integer',
        min: 8,
        placeholder: '<px>',
        description:
          "side of each cell's icon (default: 64, 80 for inception-v3, or the model's input size if smaller)",
      },
      steps: { type: 'integer', min: 1, default: 128, placeholder: '<n>', description: 'optimisation steps' },
      'batch-size': {
        type: 'integer',
        min: 1,
        placeholder: '<n>',
        description: 'cells optimised together (default: all; smaller bounds memory)',
      },
      iterations: {
        type: 'integer',
        min: 10,
        default: 500,
        placeholder: '<n>',
        description: 't-SNE iterations',
      },
      seed: seedOption,
      size: sizeOption,
    },
    examples: [
      'cnnviz atlas --dataset fashion-mnist-1k -m fashion-cnn --layer conv2 --grid 10 -o atlas.png',
      'cnnviz atlas "photos/*.jpg" -m mobilenet-v2 --layer block_13_expand_relu --grid 20 -o atlas.png',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    const { CliError } = await import('../errors.js');
    if (args.positionals.length === 0 && v.dataset === undefined)
      throw new CliError('BAD_OPTION', 'give images (paths or quoted globs) or --dataset fashion-mnist-1k');
    if (args.positionals.length > 0 && v.dataset !== undefined)
      throw new CliError('BAD_OPTION', 'give images or --dataset, not both');
    const { singleOutput, writeFileAtomic } = await import('../output.js');
    const out = singleOutput(v.output as string | undefined, 'atlas');
    const jsonPath = out.replace(/\.png$/i, '') + '.json';
    const { parseModelRef, loadModelRef, bundledImageNames } = await import('../model-arg.js');
    const { resolveInputs } = await import('../inputs.js');
    const { checkImageFile } = await import('../../image-io.js');
    const ref = parseModelRef(String(v.model));
    const limit = typeof v.limit === 'number' ? v.limit : undefined;
    let inputs = args.positionals.length ? resolveInputs(args.positionals, await bundledImageNames()) : [];
    if (limit !== undefined) inputs = inputs.slice(0, limit);
    for (const input of inputs) if (input.path) await checkImageFile(input.path, ctx.maxPixels);

    const tf = await import('@tensorflow/tfjs-core');
    const s = await import('../session.js');
    const syn = await import('@cnnviz/synthesis');
    const emb = await import('@cnnviz/embedding');
    const { receptiveField, receptiveFieldBox } = await import('@cnnviz/attribution');
    const backend = await s.startBackend(ctx, v.backend);
    const lm = await loadModelRef(ref, v.size as number | undefined);
    const model = lm.model;
    const layer = (v.layer as string | undefined) ?? s.lastSpatialLayer(model);
    if (layer === undefined) throw new CliError('BAD_OPTION', 'the model has no spatial layer; give --layer');
    const start = performance.now();

    let batch: import('@tensorflow/tfjs-core').Tensor4D;
    let names: string[];
    if (v.dataset !== undefined) {
      const { fashionBatch } = await import('../pipeline.js');
      const data = await fashionBatch(lm, limit);
      batch = data.batch;
      names = data.labels.map((l, i) => `${String(v.dataset)}[${i}] ${data.classNames[l]}`);
    } else {
      const pics = [];
      try {
        for (const input of inputs) pics.push(await s.loadImage(input, lm, ctx));
        batch = tf.stack(pics) as import('@tensorflow/tfjs-core').Tensor4D;
      } finally {
        tf.dispose(pics);
      }
      names = inputs.map((i) => i.name);
    }

    try {
      const sbar = ctx.bar('activations');
      const sampled = await syn
        .sampleActivations(model, batch, {
          layer,
          perImage: v['per-image'] as number,
          seed: v.seed as number,
          signal: ctx.signal,
          onProgress: (done, total) => sbar.update(done, total),
        })
        .finally(() => sbar.done());
      const n = sampled.activations.length;
      if (n < 4) throw new CliError('BAD_OPTION', `an atlas needs at least 4 samples, got ${n}; add images`);
      // PCA to 50 first, as for any t-SNE of wide vectors: cheaper neighbours, less noise.
      const channels = sampled.activations[0].length;
      let features: Float32Array[] = sampled.activations;
      if (channels > 50 && n > 50) {
        const p = await emb.pca(sampled.activations, { components: 50, seed: v.seed as number });
        features = p.projected;
      }
      const { tsneWithBar } = await import('../pipeline.js');
      const { points: coords } = await tsneWithBar(ctx, features, {
        perplexity: 30,
        iterations: v.iterations as number,
        seed: v.seed as number,
      });
      const [ih, iw] = sampled.inputSize;
      const iconSize =
        (v['icon-size'] as number | undefined) ??
        (ref.zoo === 'inception-v3' ? 80 : Math.min(64, Math.max(ih, iw)));
      // A zoo backbone is built for one input size: render the icons with one built for theirs (same
      // weights), not by resizing every icon up to the sampling size at every step.
      const resizable = ref.zoo === 'mobilenet-v2' || ref.zoo === 'inception-v3';
      const iconModel = resizable && iconSize !== ih ? (await loadModelRef(ref, iconSize)).model : model;
      const rbar = ctx.bar('atlas');
      const result = await syn
        .activationAtlas(iconModel, {
          layer,
          activations: sampled.activations,
          coords,
          grid: v.grid as number,
          minCount: v['min-count'] as number,
          size: iconSize,
          steps: v.steps as number,
          batchSize: v['batch-size'] as number | undefined,
          seed: v.seed as number,
          signal: ctx.signal,
          onProgress: (st) => rbar.update(st.step, st.steps, `objective ${(-st.loss).toFixed(3)}`),
        })
        .finally(() => rbar.done());
      try {
        const rf = receptiveField(model, layer, [ih, iw]);
        const cells = result.cells.map((c) => ({
          row: c.row,
          col: c.col,
          count: c.count,
          score: c.score,
          examples: c.examples.map((i) => ({
            image: names[sampled.image[i]],
            y: sampled.y[i],
            x: sampled.x[i],
            box: receptiveFieldBox(rf, sampled.y[i], sampled.x[i], [ih, iw]),
          })),
        }));
        const ms = s.since(start);
        const json = {
          command: 'atlas',
          model: ref.name,
          backend: backend.name,
          layer,
          images: names.length,
          samples: n,
          grid: result.grid,
          iconSize,
          inputSize: [ih, iw],
          output: out,
          cells,
          ms,
        };
        await s.save(ctx, out, result.image);
        await writeFileAtomic(jsonPath, JSON.stringify(json, null, 1) + '\n');
        return {
          lines: [
            `${out}  (${result.cells.length} of ${result.grid * result.grid} cells from ${n} activations of ${names.length} images at ${layer}; ${ms} ms)`,
            `${jsonPath}  (each cell's count and example patches)`,
          ],
          json: { ...json, cells: undefined, json: jsonPath },
        };
      } finally {
        result.dispose();
      }
    } finally {
      batch.dispose();
    }
  },
};
