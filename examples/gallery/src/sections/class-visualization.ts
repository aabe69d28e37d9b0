import * as tf from '@tensorflow/tfjs-core';
import { visualizeClass, visualizeUnit } from '@cnnviz/synthesis';
import { grid, tile } from '../compose.js';
import { timed, type Figure, type Technique } from '../gallery.js';
import { finalImage, stepsInto } from './drive.js';
import { classify } from './samples.js';

/** 8. Gradient ascent: the image a class or a unit wants. */
export const classVisualizationSection: Technique = {
  id: 'class-visualization',
  group: 'gradients',
  lecture: 8,
  title: 'Gradient ascent: class and unit visualisation',
  blurb:
    "Start from grey noise and follow the gradient of a class score, with the lecture's regularisers (L2 decay, periodic Gaussian blur, clipping of small pixels and gradients). For units of a deep network, Lucid's stronger priors (Fourier parameterisation, decorrelated colour, random transforms) give more natural pictures.",
  async run(g, bar) {
    const figures: Figure[] = [];
    const fashion = await g.fashion();
    const labels = fashion.labels ?? [];
    const classes = labels.length || 10;
    const steps = g.q(100, 300);
    // visualizeClass's defaults, spelled out for the caption.
    const settings = { steps, lr: 0.02, l2: 1e-3, blurEvery: 10, blurSigma: 0.5, jitter: 1 };
    const units = g.q([3, 42, 100], [3, 42, 100, 200, 300, 400]);
    const parts = classes + units.length;
    const tiles: tf.Tensor3D[] = [];
    let recognised = 0;
    const [, ms] = await timed(async () => {
      for (let k = 0; k < classes; k++) {
        const { image } = await finalImage(
          visualizeClass(fashion, { target: k, seed: k, ...settings, onProgress: stepsInto(bar, k, parts) }),
        );
        // Does the network see its class in the picture (as saved, 8-bit)?
        const saved = tf.tidy(() => tf.div(tf.round(tf.mul(image, 255)), 255) as tf.Tensor3D);
        if ((await classify(fashion, saved)).label === k) recognised++;
        saved.dispose();
        tiles.push(tile(image, 84));
        image.dispose();
      }
    });
    figures.push({
      title: `Every Fashion-MNIST class: ${labels.join(', ')}`,
      file: await g.save('08-class-visualization-fashion', grid(tiles, 5)),
      model: 'fashion-cnn',
      settings: `${steps} steps of ${settings.lr}, L2 decay ${settings.l2}, blur σ ${settings.blurSigma} every ${settings.blurEvery} steps, jitter ${settings.jitter} px; the network classifies ${recognised} of ${classes} pictures as their class`,
      command: `cnnviz class -m fashion-cnn --target ${labels[7] ?? 7} --seed 7 --steps ${steps} -o class.png   # one class; --seed k for class k`,
      ms,
    });

    const size = g.q(112, 224);
    const layer = 'block_13_expand_relu';
    const mobilenet = await g.mobilenet(size);
    const unitSteps = g.q(48, 256);
    const unitTiles: tf.Tensor3D[] = [];
    const [, ms2] = await timed(async () => {
      for (const [i, c] of units.entries()) {
        const { image } = await finalImage(
          visualizeUnit(mobilenet, `${layer}:${c}`, {
            steps: unitSteps,
            size,
            seed: c,
            onProgress: stepsInto(bar, classes + i, parts),
          }),
        );
        unitTiles.push(image);
      }
    });
    figures.push({
      title: `Channels ${units.join(', ')} of ${layer}`,
      file: await g.save('08b-unit-visualization-mobilenet', grid(unitTiles, units.length)),
      model: `mobilenet-v2 (ImageNet, ${size} px)`,
      layer,
      settings: `${unitSteps} Adam steps, Fourier parameterisation, decorrelated colour, standard transforms`,
      ms: ms2,
      note: 'The gallery keeps this fast; at 224 px and 512 steps the same loop gives Lucid-quality pictures (second command, on InceptionV3).',
      command: `cnnviz class -m mobilenet-v2 --objective ${layer}:${units[0]} --steps ${unitSteps} --size ${size} --seed ${units[0]} -o unit.png   # --seed c for channel c\ncnnviz class -m inception-v3 --objective mixed4:97 --steps 512 --size 224 -o mixed4-97.png`,
    });
    if (g.quality === 'high') {
      // Lucid's paper setting: 224 px, 512 steps, on the network Lucid's pictures were made with.
      const inception = await g.inception(224);
      const [{ image }, ms3] = await timed(() =>
        finalImage(visualizeUnit(inception, 'mixed4:97', { steps: 512, size: 224, seed: 0 })),
      );
      figures.push({
        title: 'Channel 97 of mixed4 at paper quality',
        file: await g.save('08c-unit-visualization-inception', image),
        model: 'inception-v3 (ImageNet, 224 px)',
        layer: 'mixed4',
        settings: '512 Adam steps, Fourier parameterisation, decorrelated colour, standard transforms',
        ms: ms3,
        command: 'cnnviz class -m inception-v3 --objective mixed4:97 --steps 512 --size 224 -o mixed4-97.png',
      });
    }
    return figures;
  },
};
