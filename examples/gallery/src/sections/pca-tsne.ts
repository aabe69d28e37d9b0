import { imageGrid, pca, scatterPlot, tsne } from '@cnnviz/embedding';
import { timed, type Figure, type Technique } from '../gallery.js';
import { FEATURE_LAYER, fashionSet } from './fashion-set.js';

/** 3. PCA and t-SNE of the last hidden layer's features. */
export const pcaTsneSection: Technique = {
  id: 'pca-tsne',
  group: 'activations',
  lecture: 3,
  title: 'Dimensionality reduction: PCA and t-SNE',
  blurb:
    'The features of many images reduced to 2-D: linearly with PCA, and with t-SNE, which keeps close neighbours close, so the classes fall into clusters (van der Maaten & Hinton 2008). Colour: true class.',
  async run(g, bar) {
    const set = await fashionSet(g, 1000);
    const figures: Figure[] = [];
    const labels = set.labels;
    const [p, msPca] = await timed(() => pca(set.features, { components: 2 }));
    figures.push({
      title: 'PCA, first two components',
      file: await g.save(
        '03-pca',
        scatterPlot(p.projected, {
          labels,
          labelNames: set.classNames,
          format: 'png',
          width: 480,
          height: 480,
        }),
      ),
      model: 'fashion-cnn',
      layer: FEATURE_LAYER,
      settings: `${labels.length} images; explained variance ${Array.from(p.explainedVarianceRatio, (r) => `${(r * 100).toFixed(1)} %`).join(' + ')}`,
      ms: msPca + set.ms,
      command: `cnnviz embed --dataset fashion-mnist-1k -m fashion-cnn --layer ${FEATURE_LAYER} --method pca -o pca.png`,
    });
    const iterations = g.q(500, 1000);
    const perplexity = 30;
    const [points, msTsne] = await timed(() =>
      tsne(set.features, {
        perplexity,
        iterations,
        seed: 1,
        onProgress: (s) =>
          bar.update(s.iteration, s.iterations, s.kl !== undefined ? `KL ${s.kl.toFixed(2)}` : undefined),
      }),
    );
    figures.push({
      title: 't-SNE, coloured by class',
      file: await g.save(
        '03b-tsne',
        scatterPlot(points, { labels, labelNames: set.classNames, format: 'png', width: 480, height: 480 }),
      ),
      model: 'fashion-cnn',
      layer: FEATURE_LAYER,
      settings: `${labels.length} images, Barnes–Hut, perplexity ${perplexity}, ${iterations} iterations`,
      ms: msTsne,
      command: `cnnviz embed --dataset fashion-mnist-1k -m fashion-cnn --layer ${FEATURE_LAYER} --method tsne --perplexity ${perplexity} --iterations ${iterations} --seed 1 -o tsne.png`,
    });
    const [thumbs, msGrid] = await timed(() =>
      imageGrid(points, set.images, { width: 640, height: 640, thumbSize: 20, layout: 'grid' }),
    );
    figures.push({
      title: 't-SNE, each point drawn as its image',
      file: await g.save('03c-tsne-images', thumbs),
      model: 'fashion-cnn',
      layer: FEATURE_LAYER,
      settings: 'the same embedding, thumbnails snapped to a grid',
      ms: msGrid,
      command: `cnnviz embed --dataset fashion-mnist-1k -m fashion-cnn --layer ${FEATURE_LAYER} --method tsne --perplexity ${perplexity} --iterations ${iterations} --seed 1 --view images -o tsne-images.png`,
    });
    return figures;
  },
};
