import * as tf from '@tensorflow/tfjs-core';
import { pca, tsne } from '@cnnviz/embedding';
import { activationAtlas, sampleActivations } from '@cnnviz/synthesis';
import { timed, type Technique } from '../gallery.js';
import { fashionSet } from './fashion-set.js';

const LAYER = 'conv3';

/** Activation Atlas (Carter et al. 2019): the t-SNE grid of the lecture taken to a whole layer. */
export const activationAtlasSection: Technique = {
  id: 'activation-atlas',
  group: 'activations',
  title: 'Activation Atlas',
  blurb:
    'Activations of one layer at random positions of many images, laid out by t-SNE and binned into a grid; each cell shows a feature visualisation of its mean activation, all cells optimised together as one batch (Carter et al. 2019, Distill). Neighbouring icons are what the layer sees as similar.',
  async run(g, bar) {
    const model = await g.fashion();
    const set = await fashionSet(g, 1000);
    const perImage = 4;
    const grid = g.q(12, 20);
    const steps = g.q(64, 128);
    const iterations = g.q(500, 1000);
    const [result, ms] = await timed(async () => {
      const s = await sampleActivations(model, set.images, {
        layer: LAYER,
        perImage,
        seed: 1,
        batchSize: 100,
      });
      const p = await pca(s.activations, { components: 50, seed: 1 });
      const coords = await tsne(p.projected, {
        perplexity: 30,
        iterations,
        seed: 1,
        onProgress: (st) => bar.update(st.iteration, st.iterations + steps, 't-SNE'),
      });
      return activationAtlas(model, {
        layer: LAYER,
        activations: s.activations,
        coords,
        grid,
        minCount: 3,
        size: 28,
        steps,
        seed: 1,
        onProgress: (st) => bar.update(iterations + st.step, iterations + st.steps, 'icons'),
      });
    });
    const cells = result.cells.length;
    const samples = result.cells.reduce((a, c) => a + c.count, 0);
    const image = tf.clone(result.image);
    result.dispose();
    return [
      {
        title: `Atlas of ${LAYER}, ${grid} x ${grid}`,
        file: await g.save('03d-activation-atlas', image, 480),
        model: 'fashion-cnn',
        layer: LAYER,
        settings: `${set.images.shape[0]} images x ${perImage} positions; ${cells} cells (${samples} samples in cells of 3 or more), ${steps} steps, 28 px icons`,
        ms,
        command: `cnnviz atlas --dataset fashion-mnist-1k -m fashion-cnn --layer ${LAYER} --grid ${grid} --per-image ${perImage} --min-count 3 --steps ${steps} --iterations ${iterations} --seed 1 -o atlas.png`,
      },
    ];
  },
};
