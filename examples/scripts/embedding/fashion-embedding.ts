/**
 * The lecture's embedding pictures on real data: Fashion-MNIST test images (1,000 bundled with
 * @cnnviz/models) embedded by fashionCnn's penultimate layer, then
 *   tsne-scatter.png / tsne-scatter.svg  t-SNE map coloured by class, with legend
 *   tsne-images.png                      the same map drawn with the images themselves
 *   neighbours.png                       query images and their 8 nearest neighbours in feature space
 *
 *   npx tsx examples/scripts/embedding/fashion-embedding.ts [outDir]   (default out/embedding)
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasets, zoo } from '@cnnviz/models';
import { backendInfo, initBackend, writePng } from '@cnnviz/node';
import {
  extractFeatures,
  imageGrid,
  knn,
  neighboursGrid,
  pca,
  scatterPlot,
  trustworthiness,
  tsne,
} from '@cnnviz/embedding';

const out = process.argv[2] ?? 'out/embedding';
await mkdir(out, { recursive: true });
await initBackend();
console.log('backend', backendInfo().name);

const model = await zoo.fashionCnn();
const data = await datasets.fashionMnistTest1k();
const { images, labels, classNames } = data;
// The penultimate layer: the last one before the classifier.
const layer = model.layers[model.layers.length - 2].name;
console.log(`features from layer ${layer}`);

let t0 = performance.now();
const features = await extractFeatures(model, images, { layer, batchSize: 100 });
console.log(`extractFeatures ${features.shape.join('x')}: ${(performance.now() - t0).toFixed(0)} ms`);

t0 = performance.now();
const reduced =
  features.shape[1] > 50 ? (await pca(features, { components: 50 })).projected : await features.array();
const points = await tsne(reduced, { seed: 0 });
console.log(`t-SNE: ${(performance.now() - t0).toFixed(0)} ms`);
console.log(`trustworthiness(k=5) of the map: ${(await trustworthiness(features, points, 5)).toFixed(4)}`);

await writeFile(
  join(out, 'tsne-scatter.svg'),
  scatterPlot(points, {
    labels,
    labelNames: classNames,
    width: 800,
    height: 640,
    title: 'Fashion-MNIST, fashionCnn features, t-SNE',
  }),
);
const scatter = scatterPlot(points, { labels, format: 'png', width: 800, height: 640, pointRadius: 3 });
await writePng(join(out, 'tsne-scatter.png'), scatter);
const map = await imageGrid(points, images, { width: 1120, height: 1120, thumbSize: 28, layout: 'grid' });
await writePng(join(out, 'tsne-images.png'), map);

// Nearest neighbours: the first neighbour of a query is itself, so ask for 9 and drop it.
const { indices, distances } = await knn(features, features, { k: 9 });
const pick = (i: number): tf.Tensor3D =>
  tf.tidy(() => tf.squeeze(tf.slice(images, [i, 0, 0, 0], [1, -1, -1, -1]), [0]));
const rows: tf.Tensor3D[] = [];
for (const q of [0, 1, 2, 3, 5, 8]) {
  const query = pick(q);
  const nb = Array.from(indices[q].slice(1), pick);
  rows.push(await neighboursGrid(query, nb, distances[q].slice(1), { thumbSize: 56 }));
  const agree = Array.from(indices[q].slice(1)).filter((j) => labels[j] === labels[q]).length;
  console.log(`query ${q} (${classNames[labels[q]]}): ${agree}/8 neighbours of the same class`);
  query.dispose();
  nb.forEach((t) => t.dispose());
}
const grid = tf.concat(rows, 0);
await writePng(join(out, 'neighbours.png'), grid);

[features, scatter, map, grid, ...rows].forEach((t) => t.dispose());
data.dispose();
model.dispose?.();
console.log(`wrote ${out}/tsne-scatter.png, tsne-scatter.svg, tsne-images.png, neighbours.png`);
