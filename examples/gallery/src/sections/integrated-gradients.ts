import { integratedGradients } from '@cnnviz/attribution';
import { grid, heat, tile } from '../compose.js';
import { timed, type Technique } from '../gallery.js';
import { fashionSamples } from './samples.js';

/** + Integrated gradients: signed attributions that add up to the score difference. */
export const integratedGradientsSection: Technique = {
  id: 'integrated-gradients',
  group: 'gradients',
  title: 'Integrated gradients',
  blurb:
    'The gradient integrated along the straight path from a black image to the input, times the pixel difference: signed attributions that sum to the change of the class score (Sundararajan et al. 2017). Red adds to the class, blue takes away.',
  async run(g, bar) {
    const { model, samples } = await fashionSamples(g);
    const steps = g.q(32, 128);
    const size = 112;
    const tiles = [];
    let ms = 0;
    let worst = 0;
    for (const [i, s] of samples.entries()) {
      const [r, t] = await timed(() => integratedGradients(model, s.image, { target: s.label, steps }));
      ms += t;
      worst = Math.max(worst, r.completenessError);
      tiles.push(tile(s.image, size), heat(r.map, size, true));
      r.dispose();
      bar.update(i + 1, samples.length);
    }
    const file = await g.save('06c-integrated-gradients', grid(tiles, 6));
    return [
      {
        title: 'Integrated gradients of the predicted class',
        file,
        model: 'fashion-cnn',
        settings: `baseline black, ${steps} steps (Gauss–Legendre); completeness error ≤ ${(worst * 100).toFixed(2)} %`,
        ms,
        command: `cnnviz saliency ${samples.map((s) => s.name).join(' ')} -m fashion-cnn --method ig --steps ${steps} --view side -o out/`,
      },
    ];
  },
};
