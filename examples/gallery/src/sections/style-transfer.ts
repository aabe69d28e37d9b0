import * as tf from '@tensorflow/tfjs-core';
import { transferStyle } from '@cnnviz/synthesis';
import { grid, tile } from '../compose.js';
import { timed, type Figure, type Technique } from '../gallery.js';
import { finalImage, stepsInto } from './drive.js';

/** 13. Style transfer: content loss plus Gram style loss; styles blend by weight. */
export const styleTransferSection: Technique = {
  id: 'style-transfer',
  group: 'gradients',
  lecture: 13,
  title: 'Style transfer',
  blurb:
    'Feature-inversion content loss plus Gram-matrix style loss, with tunable weights (Gatys et al. 2016); several styles blend by weight.',
  async run(g, bar) {
    const figures: Figure[] = [];
    const size = g.q(128, 256);
    const model = await g.mobilenet(size);
    const content = await g.image('chelsea', size);
    const starry = await g.image('starry_night', size);
    const scream = await g.image('scream', size);
    const steps = g.q(100, 300);
    // A large step and style weight: with smaller ones MobileNetV2's Gram matrices barely move colour (measured).
    const weights = { contentWeight: 1, styleWeight: 100, tvWeight: 1, lr: 0.1 };
    const runs: {
      title: string;
      styles: { image: tf.Tensor3D; weight: number }[];
      shown: tf.Tensor3D[];
      name: string;
    }[] = [
      {
        title: 'Content | style | result',
        styles: [{ image: starry, weight: 1 }],
        shown: [content, starry],
        name: '13-style-transfer',
      },
      {
        title: 'Two styles blended 50:50',
        styles: [
          { image: starry, weight: 0.5 },
          { image: scream, weight: 0.5 },
        ],
        shown: [starry, scream],
        name: '13b-style-blend',
      },
    ];
    for (const [i, r] of runs.entries()) {
      const [{ image }, ms] = await timed(() =>
        finalImage(
          transferStyle(model, content, r.styles, {
            steps,
            size,
            ...weights,
            seed: 1,
            onProgress: stepsInto(bar, i, runs.length),
          }),
        ),
      );
      const shown = r.shown.map((t) => tile(t, size));
      figures.push({
        title: r.title,
        file: await g.save(r.name, grid([...shown, tile(image, size)], shown.length + 1)),
        model: `mobilenet-v2 (ImageNet, ${size} px)`,
        layer: "the zoo model's content and style layers",
        settings: `${steps} Adam steps of ${weights.lr} from the content image; content ${weights.contentWeight}, style ${weights.styleWeight}, TV ${weights.tvWeight}`,
        command: `cnnviz style chelsea ${r.styles.length === 1 ? '--style starry_night' : '--style starry_night:0.5 --style scream:0.5'} -m mobilenet-v2 --size ${size} --steps ${steps} --lr ${weights.lr} --content-weight ${weights.contentWeight} --style-weight ${weights.styleWeight} --tv-weight ${weights.tvWeight} --seed 1 -o ${r.name}.png`,
        ms,
      });
      image.dispose();
    }
    return figures;
  },
};
