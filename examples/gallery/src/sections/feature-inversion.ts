import * as tf from '@tensorflow/tfjs-core';
import { invertFeatures } from '@cnnviz/synthesis';
import { grid } from '../compose.js';
import { timed, type Technique } from '../gallery.js';
import { finalImage, stepsInto } from './drive.js';

/** 11. Feature inversion: reconstruct an image from one layer's features. */
export const featureInversionSection: Technique = {
  id: 'feature-inversion',
  group: 'gradients',
  lecture: 11,
  title: 'Feature inversion',
  blurb:
    "Find an image whose features at one layer match the original's, with a total-variation prior (Mahendran & Vedaldi 2015). Shallow layers reconstruct almost exactly; deep layers keep the content and lose the detail.",
  async run(g, bar) {
    const size = g.q(128, 224);
    const model = await g.mobilenet(size);
    const image = await g.image('chelsea', size);
    const layers = g.q(
      ['block_1_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu'],
      ['block_1_expand_relu', 'block_3_expand_relu', 'block_6_expand_relu', 'block_13_expand_relu'],
    );
    const steps = g.q(120, 400);
    // Deeper layers constrain fine detail less: a stronger smoothness prior keeps them from noise (measured).
    const tvFor = (layer: string) => (/block_(1|2|3)_/.test(layer) ? 0.05 : 2);
    const tiles: tf.Tensor3D[] = [image.clone()];
    const [, ms] = await timed(async () => {
      for (const [i, layer] of layers.entries()) {
        const { image: rec } = await finalImage(
          invertFeatures(model, image, {
            layer,
            steps,
            tv: tvFor(layer),
            seed: 1,
            onProgress: stepsInto(bar, i, layers.length),
          }),
        );
        tiles.push(rec);
      }
    });
    return [
      {
        title: `Original, then reconstructions from ${layers.join(', ')}`,
        file: await g.save('11-feature-inversion', grid(tiles, tiles.length)),
        model: `mobilenet-v2 (ImageNet, ${size} px)`,
        layer: layers.join(', '),
        settings: `${steps} Adam steps from noise; TV weight ${layers.map(tvFor).join(', ')}`,
        command: layers
          .map(
            (l) =>
              `cnnviz invert chelsea -m mobilenet-v2 --size ${size} --layer ${l} --steps ${steps} --tv ${tvFor(l)} --seed 1 -o ${l}.png`,
          )
          .join('\n'),
        ms,
      },
    ];
  },
};
