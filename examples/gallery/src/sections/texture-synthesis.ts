import * as tf from '@tensorflow/tfjs-core';
import { synthesizeTexture } from '@cnnviz/synthesis';
import { grid, tile } from '../compose.js';
import { timed, type Technique } from '../gallery.js';
import { finalImage, stepsInto } from './drive.js';

/** 12. Texture synthesis by matching Gram matrices. */
export const textureSynthesisSection: Technique = {
  id: 'texture-synthesis',
  group: 'gradients',
  lecture: 12,
  title: 'Texture synthesis with Gram matrices',
  blurb:
    "At several layers, the C×C matrix of channel co-occurrences averaged over positions; start from noise and minimise the weighted distance between the Gram matrices of the new image and of the texture (Gatys et al. 2015; MobileNetV2 here instead of the lecture's VGG-19).",
  async run(g, bar) {
    const size = g.q(128, 256);
    const model = await g.mobilenet(size);
    const names = g.q(['brick', 'starry_night'], ['brick', 'grass', 'starry_night']);
    const steps = g.q(40, 150);
    const tiles: tf.Tensor3D[] = [];
    const [, ms] = await timed(async () => {
      for (const [i, name] of names.entries()) {
        const texture = await g.image(name, size);
        const { image } = await finalImage(
          synthesizeTexture(model, texture, {
            size,
            steps,
            optimizer: 'lbfgs',
            seed: 1,
            onProgress: stepsInto(bar, i, names.length),
          }),
        );
        tiles.push(tile(texture, size), image);
      }
    });
    return [
      {
        title: `Texture | synthesised, for ${names.join(', ')}`,
        file: await g.save('12-texture-synthesis', grid(tiles, 4)),
        model: `mobilenet-v2 (ImageNet, ${size} px)`,
        layer: "the zoo model's style layers",
        settings: `${steps} L-BFGS iterations from noise, equal layer weights`,
        note: "MobileNetV2's stride-2 first layer leaves pixel-level noise unconstrained: a weaker texture model than the lecture's VGG-19.",
        command: names
          .map(
            (n) =>
              `cnnviz texture ${n} -m mobilenet-v2 --size ${size} --out-size ${size} --steps ${steps} --optimizer lbfgs --seed 1 -o ${n}-texture.png`,
          )
          .join('\n'),
        ms,
      },
    ];
  },
};
