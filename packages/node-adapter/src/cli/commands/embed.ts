import type { Command } from '../command.js';
import {
  datasetImagesPositional,
  datasetOption,
  modelOption,
  outputOption,
  seedOption,
  sizeOption,
} from '../command.js';
import { embedStoreOptions } from './embed-store.js';

/** `cnnviz embed`: features of many images → nearest neighbours, PCA or t-SNE map. */
export const embed: Command = {
  spec: {
    name: 'embed',
    summary: 'features of many images: nearest neighbours and a 2-D map (PCA or t-SNE)',
    description:
      "Extracts one feature vector per image at --layer (spatial layers are average-pooled), finds each image's nearest neighbours in that space (--knn) and draws the images' 2-D PCA or t-SNE embedding, coloured by class. Classes come from the data set, or from each image file's folder name (photos/cat/1.jpg is a 'cat').",
    positionals: datasetImagesPositional,
    options: {
      model: modelOption('fashion-cnn'),
      output: outputOption('the 2-D map'),
      dataset: datasetOption,
      limit: { type: 'integer', min: 2, placeholder: '<n>', description: 'use at most n images' },
      layer: {
        type: 'string',
        short: 'l',
        placeholder: '<name>',
        description: "feature layer (default: the model's logits)",
      },
      method: {
        type: 'string',
        choices: ['tsne', 'pca'],
        default: 'tsne',
        placeholder: '<m>',
        description: 'how to reduce to 2-D',
      },
      knn: {
        type: 'integer',
        min: 1,
        placeholder: '<k>',
        description: 'also find k nearest neighbours of every image (in --json; a few are printed)',
      },
      metric: {
        type: 'string',
        choices: ['euclidean', 'cosine'],
        default: 'euclidean',
        placeholder: '<m>',
        description: 'kNN distance',
      },
      perplexity: {
        type: 'number',
        min: 1,
        default: 30,
        placeholder: '<p>',
        description: 't-SNE perplexity',
      },
      iterations: {
        type: 'integer',
        min: 10,
        default: 500,
        placeholder: '<n>',
        description: 't-SNE iterations',
      },
      view: {
        type: 'string',
        choices: ['points', 'images'],
        default: 'points',
        placeholder: '<v>',
        description: 'draw coloured points or the images themselves',
      },
      seed: seedOption,
      size: sizeOption,
      ...embedStoreOptions,
    },
    examples: [
      'cnnviz embed --dataset fashion-mnist-1k -m fashion-cnn --layer dense1 --method tsne -o tsne.png',
      'cnnviz embed "photos/*/*.jpg" -m mobilenet-v2 --layer out_relu --knn 5 --json > neighbours.json',
      'cnnviz embed --table photos-out_relu --neighbours 10 --json > neighbours.json',
    ],
  },
  async run(args, ctx) {
    const v = args.values;
    if (v.table !== undefined) return (await import('./embed-store.js')).embedStore(args, ctx);
    const { CliError } = await import('../errors.js');
    if (args.positionals.length === 0 && v.dataset === undefined) {
      throw new CliError(
        'BAD_OPTION',
        'give images (paths or quoted globs) or --dataset fashion-mnist-1k; see `cnnviz embed --help`',
      );
    }
    if (args.positionals.length > 0 && v.dataset !== undefined)
      throw new CliError('BAD_OPTION', 'give images or --dataset, not both');
    const { singleOutput } = await import('../output.js');
    const out = singleOutput(v.output as string | undefined, `embed-${String(v.method)}`);
    const { parseModelRef, loadModelRef, bundledImageNames } = await import('../model-arg.js');
    const { resolveInputs } = await import('../inputs.js');
    const ref = parseModelRef(String(v.model));
    let inputs = args.positionals.length ? resolveInputs(args.positionals, await bundledImageNames()) : [];
    if (typeof v.limit === 'number') inputs = inputs.slice(0, v.limit);
    if (args.positionals.length && inputs.length < 2)
      throw new CliError('BAD_OPTION', `embed needs at least 2 images, got ${inputs.length}`);

    const tf = await import('@tensorflow/tfjs-core');
    const s = await import('../session.js');
    const emb = await import('@cnnviz/embedding');
    const { dirname, basename } = await import('node:path');
    const { checkImageFile } = await import('../../image-io.js');
    for (const input of inputs) if (input.path) await checkImageFile(input.path, ctx.maxPixels);
    const backend = await s.startBackend(ctx, v.backend);
    const lm = await loadModelRef(ref, v.size as number | undefined);
    const start = performance.now();

    // The images as one batch, their names and (where known) class labels.
    let batch: import('@tensorflow/tfjs-core').Tensor4D;
    let names: string[];
    let labels: number[] | undefined;
    let classNames: string[] | undefined;
    if (v.dataset !== undefined) {
      const { fashionBatch } = await import('../pipeline.js');
      const data = await fashionBatch(lm, typeof v.limit === 'number' ? v.limit : undefined);
      batch = data.batch;
      labels = data.labels;
      classNames = data.classNames;
      names = labels.map((l, i) => `${String(v.dataset)}[${i}] ${classNames![l]}`);
    } else {
      const pics = [];
      for (const input of inputs) pics.push(await s.loadImage(input, lm, ctx));
      batch = tf.stack(pics) as import('@tensorflow/tfjs-core').Tensor4D;
      tf.dispose(pics);
      names = inputs.map((i) => i.name);
      const folders = inputs.map((i) => (i.path ? basename(dirname(i.path)) : 'bundled'));
      classNames = [...new Set(folders)];
      labels = classNames.length > 1 ? folders.map((f) => classNames!.indexOf(f)) : undefined;
    }

    try {
      const bar = ctx.bar('features');
      const features = await emb
        .extractFeatures(lm.model, batch, {
          layer: v.layer as string | undefined,
          signal: ctx.signal,
          onProgress: (p) => bar.update(p.done, p.total ?? names.length),
        })
        .finally(() => bar.done());
      const json: Record<string, unknown> = {
        command: 'embed',
        model: ref.name,
        backend: backend.name,
        layer: v.layer ?? 'logits',
        images: names.length,
        features: features.shape[1],
      };
      const lines: string[] = [];
      try {
        if (typeof v.knn === 'number') {
          const k = Math.min(v.knn, names.length - 1);
          const r = await emb.knn(features, features, {
            k,
            metric: v.metric as 'euclidean' | 'cosine',
            excludeSelf: true,
            signal: ctx.signal,
          });
          json.neighbours = names.map((name, i) => ({
            image: name,
            neighbours: Array.from(r.indices[i], (j, n) => ({
              image: names[j],
              distance: r.distances[i][n],
            })),
          }));
          for (let i = 0; i < Math.min(5, names.length); i++) {
            lines.push(`${names[i]}: ${Array.from(r.indices[i], (j) => names[j]).join(', ')}`);
          }
          if (names.length > 5) lines.push(`... (--json lists the neighbours of all ${names.length} images)`);
        }
        let points: Float32Array[];
        if (v.method === 'pca') {
          const p = await emb.pca(features, { components: 2, seed: v.seed as number });
          points = p.projected;
          json.explainedVarianceRatio = Array.from(p.explainedVarianceRatio);
        } else {
          const { tsneWithBar } = await import('../pipeline.js');
          const t = await tsneWithBar(ctx, features, {
            perplexity: v.perplexity as number,
            iterations: v.iterations as number,
            seed: v.seed as number,
          });
          points = t.points;
          const perplexity = t.perplexity;
          json.perplexity = perplexity;
        }
        json.points = points.map((p, i) => ({
          image: names[i],
          x: p[0],
          y: p[1],
          ...(labels ? { label: classNames?.[labels[i]] } : {}),
        }));
        const picture =
          v.view === 'images'
            ? await emb.imageGrid(points, batch, {
                width: 800,
                height: 800,
                thumbSize: Math.max(16, Math.min(64, Math.round(800 / Math.sqrt(names.length)))),
                layout: 'grid',
              })
            : emb.scatterPlot(points, {
                format: 'png',
                width: 640,
                height: 640,
                ...(labels ? { labels, labelNames: classNames } : {}),
              });
        try {
          await s.save(ctx, out, picture);
        } finally {
          picture.dispose();
        }
      } finally {
        features.dispose();
      }
      const ms = s.since(start);
      json.output = out;
      json.ms = ms;
      lines.unshift(
        `${out}  (${names.length} images, ${String(json.features)} features at ${String(json.layer)}, ${String(v.method)}; ${ms} ms)`,
      );
      return { lines, json };
    } finally {
      batch.dispose();
    }
  },
};
