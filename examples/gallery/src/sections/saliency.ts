import { saliency } from '@cnnviz/attribution';
import { grid, heat, tile } from '../compose.js';
import { timed, type Technique } from '../gallery.js';
import { fashionSamples } from './samples.js';

/** 6. Saliency maps: |d class score / d pixel|, max over channels. */
export const saliencySection: Technique = {
  id: 'saliency',
  group: 'gradients',
  lecture: 6,
  title: 'Saliency maps',
  blurb:
    'Gradient of the unnormalised class score with respect to the pixels; absolute value, max over colour channels (Simonyan et al. 2014).',
  async run(g, bar) {
    const { model, samples } = await fashionSamples(g);
    const size = 112;
    const tiles = [];
    let ms = 0;
    for (const [i, s] of samples.entries()) {
      const [r, t] = await timed(() => saliency(model, s.image, { target: s.label }));
      ms += t;
      tiles.push(tile(s.image, size), heat(r.map, size));
      r.dispose();
      bar.update(i + 1, samples.length);
    }
    const file = await g.save('06-saliency', grid(tiles, 2 * 3));
    return [
      {
        title: 'Saliency of the predicted class',
        file,
        model: 'fashion-cnn',
        settings: `targets: ${samples.map((s) => s.labelName).join(', ')}; image | saliency pairs`,
        ms,
        note: 'Bright pixels change the class score most; they trace the garment outline.',
        command: `cnnviz saliency ${samples.map((s) => s.name).join(' ')} -m fashion-cnn --view side -o out/`,
      },
    ];
  },
};
