import * as tf from '@tensorflow/tfjs-core';
import { knn, neighboursGrid } from '@cnnviz/embedding';
import { grid } from '../compose.js';
import { timed, type Figure, type Technique } from '../gallery.js';
import { FEATURE_LAYER, fashionSet } from './fashion-set.js';

/** 2. Nearest neighbours in feature space versus pixel space. */
export const nearestNeighboursSection: Technique = {
  id: 'nearest-neighbours',
  group: 'activations',
  lecture: 2,
  title: 'Nearest neighbours in feature space',
  blurb:
    "Neighbours by the distance between last-hidden-layer features, not between pixels: the network's features bring back items of the same kind even when the pixels differ (framed: the query).",
  async run(g, bar) {
    const set = await fashionSet(g, 1000);
    const k = 7;
    const queries = [3, 17, 42, 88];
    const pixels = tf.tidy(() => tf.reshape(set.images, [set.images.shape[0], -1])) as tf.Tensor2D;
    const figures: Figure[] = [];
    try {
      for (const [space, matrix, name] of [
        ['feature', set.features, `features of ${FEATURE_LAYER}`],
        ['pixel', pixels, 'raw pixels'],
      ] as const) {
        const [res, ms] = await timed(() =>
          knn(matrix, matrix, { k, excludeSelf: true, metric: 'euclidean' }),
        );
        const rows: tf.Tensor3D[] = [];
        for (const q of queries) {
          const query = tf.tidy(() =>
            tf.squeeze(tf.slice(set.images, [q, 0, 0, 0], [1, -1, -1, -1]), [0]),
          ) as tf.Tensor3D;
          const neighbours = tf.tidy(() =>
            tf.gather(set.images, tf.tensor1d(res.indices[q], 'int32')),
          ) as tf.Tensor4D;
          rows.push(await neighboursGrid(query, neighbours, res.distances[q], { thumbSize: 64 }));
          tf.dispose([query, neighbours]);
        }
        const same = queries.map(
          (q) => Array.from(res.indices[q]).filter((j) => set.labels[j] === set.labels[q]).length,
        );
        figures.push({
          title: `Neighbours by ${name}`,
          file: await g.save(`02-nearest-neighbours-${space}`, grid(rows, 1, 0)),
          model: 'fashion-cnn',
          layer: space === 'feature' ? FEATURE_LAYER : undefined,
          settings: `${set.images.shape[0]} Fashion-MNIST test images, exact ${k}-NN (euclidean); same class as the query: ${same.reduce((a, b) => a + b, 0)}/${queries.length * k}`,
          ms: space === 'feature' ? ms + set.ms : ms,
          command:
            space === 'feature'
              ? `cnnviz embed --dataset fashion-mnist-1k -m fashion-cnn --layer ${FEATURE_LAYER} --knn ${k} --json > neighbours.json`
              : `API: knn(pixels, pixels, { k: ${k}, excludeSelf: true, metric: 'euclidean' })  // pixels: the 1000 images as rows`,
        });
        bar.update(figures.length, 2);
      }
    } finally {
      pixels.dispose();
    }
    return figures;
  },
};
