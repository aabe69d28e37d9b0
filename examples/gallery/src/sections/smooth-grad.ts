import { smoothGrad } from '@cnnviz/attribution';
import { grid, heat, tile } from '../compose.js';
import { timed, type Technique } from '../gallery.js';
import { fashionSamples } from './samples.js';

/** + SmoothGrad: saliency averaged over noisy copies. */
export const smoothGradSection: Technique = {
  id: 'smoothgrad',
  group: 'gradients',
  title: 'SmoothGrad',
  blurb:
    'The saliency map averaged over copies of the image with Gaussian noise added, which removes much of its speckle (Smilkov et al. 2017).',
  async run(g, bar) {
    const { model, samples } = await fashionSamples(g);
    const samplesN = g.q(25, 100);
    const noise = 0.15;
    const size = 112;
    const tiles = [];
    let ms = 0;
    for (const [i, s] of samples.entries()) {
      const [r, t] = await timed(() =>
        smoothGrad(model, s.image, { target: s.label, samples: samplesN, noise, seed: 1 }),
      );
      ms += t;
      tiles.push(tile(s.image, size), heat(r.map, size));
      r.dispose();
      bar.update(i + 1, samples.length);
    }
    const file = await g.save('06b-smoothgrad', grid(tiles, 6));
    return [
      {
        title: 'SmoothGrad of the predicted class',
        file,
        model: 'fashion-cnn',
        settings: `${samplesN} samples, noise σ ${noise} of the range`,
        ms,
        command: `cnnviz saliency ${samples.map((s) => s.name).join(' ')} -m fashion-cnn --method smoothgrad --samples ${samplesN} --noise ${noise} --seed 1 --view side -o out/`,
      },
    ];
  },
};
