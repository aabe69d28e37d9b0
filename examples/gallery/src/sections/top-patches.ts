import * as tf from '@tensorflow/tfjs-core';
import { topPatches } from '@cnnviz/attribution';
import { datasets } from '@cnnviz/models';
import { grid } from '../compose.js';
import { timed, type Technique } from '../gallery.js';

/** 4. Maximally activating patches of a few channels over a data set. */
export const topPatchesSection: Technique = {
  id: 'top-patches',
  group: 'activations',
  lecture: 4,
  title: 'Maximally activating patches',
  blurb:
    "Pick a channel of a deep convolution layer, run many images, and keep the image patches (the unit's receptive field) with the highest activations: each row is one channel and shows what it looks for.",
  async run(g, bar) {
    const model = await g.fashion();
    const data = await datasets.fashionMnistTest1k();
    try {
      const n = g.q(500, 1000);
      const pics = tf.tidy(() => tf.slice(data.images, [0, 0, 0, 0], [n, -1, -1, -1]));
      const layer = 'conv2';
      const channels = g.q([0, 3, 7, 12, 21, 30], [0, 3, 7, 12, 21, 30, 1, 5, 9, 14]);
      const k = 8;
      const side = 56;
      const tiles: tf.Tensor3D[] = [];
      const [, ms] = await timed(async () => {
        for (const [i, c] of channels.entries()) {
          const patches = await topPatches(model, pics as tf.Tensor4D, {
            layer,
            channel: c,
            k,
            distinctImages: true,
          });
          for (const p of patches) {
            tiles.push(
              tf.tidy(() =>
                tf.image.resizeNearestNeighbor(tf.tile(p.patch, [1, 1, 3]) as tf.Tensor3D, [side, side]),
              ),
            );
            p.patch.dispose();
          }
          bar.update(i + 1, channels.length);
        }
      });
      pics.dispose();
      return [
        {
          title: `Channels ${channels.join(', ')} of ${layer}: the ${k} best patches each (one row per channel)`,
          file: await g.save('04-top-patches', grid(tiles, k)),
          model: 'fashion-cnn',
          layer,
          settings: `${n} Fashion-MNIST test images, one patch per image, receptive fields`,
          ms,
          command: `API: topPatches(await zoo.fashionCnn(), (await datasets.fashionMnistTest1k()).images, { layer: '${layer}', channel: ${channels[0]}, k: ${k}, distinctImages: true })\ncnnviz patches "packages/models/assets/images/fashion-*.png" -m fashion-cnn --layer ${layer} --channel ${channels[0]} -k ${k} -o patches.png`,
        },
      ];
    } finally {
      data.dispose();
    }
  },
};
