import { deepDream } from '@cnnviz/synthesis';
import { grid } from '../compose.js';
import { timed, type Figure, type Technique } from '../gallery.js';
import { finalImage, stepsInto } from './drive.js';

/** 10. DeepDream: amplify what a layer sees. */
export const deepDreamSection: Technique = {
  id: 'deep-dream',
  group: 'gradients',
  lecture: 10,
  title: 'DeepDream',
  blurb:
    "Choose an image and a layer, set the layer's gradient to its own activation (maximise its L2 norm), back-propagate to the image and repeat, octave by octave: the network paints what it sees (Mordvintsev et al. 2015).",
  async run(g, bar) {
    const figures: Figure[] = [];
    const size = g.q(224, 384);
    const model = await g.inception();
    const image = await g.image('chelsea', size);
    const layers = g.q(['mixed3'], ['mixed2', 'mixed3', 'mixed5']);
    const octaves = g.q(3, 4);
    const steps = g.q(8, 20);
    const stepSize = 0.01;
    for (const [i, layer] of layers.entries()) {
      const [{ image: dream }, ms] = await timed(() =>
        finalImage(
          deepDream(model, image, {
            layer,
            octaves,
            octaveScale: 1.4,
            steps,
            stepSize,
            jitter: 16,
            seed: 1,
            onProgress: stepsInto(bar, i, layers.length),
          }),
        ),
      );
      figures.push({
        title: `Dreaming at ${layer}`,
        file: await g.save(`10-deep-dream-${layer}`, grid([image.clone(), dream], 2)),
        model: `inception-v3 (ImageNet, ${size} px)`,
        layer,
        settings: `${octaves} octaves × ${steps} steps, octave scale 1.4, step ${stepSize}, jitter 16 px`,
        command: `cnnviz dream chelsea -m inception-v3 --size ${size} --layer ${layer} --octaves ${octaves} --octave-scale 1.4 --steps ${steps} --step-size ${stepSize} --jitter 16 --seed 1 -o dream.png`,
        ms,
      });
    }
    return figures;
  },
};
