import { occlusion } from '@cnnviz/attribution';
import { grid, heat, tile } from '../compose.js';
import { timed, type Technique } from '../gallery.js';
import { fashionSamples } from './samples.js';

/** 5. Occlusion: the class score's drop when a patch is hidden. */
export const occlusionSection: Technique = {
  id: 'occlusion',
  group: 'activations',
  lecture: 5,
  title: 'Occlusion',
  blurb:
    'Slide a blank patch over the image and map how much the class score drops (Zeiler & Fergus 2014). Red: hiding this part hurts the class; blue: it helps.',
  async run(g, bar) {
    const { model, samples } = await fashionSamples(g);
    const window = 6;
    const stride = g.q(2, 1);
    const size = 112;
    const tiles = [];
    let ms = 0;
    for (const [i, s] of samples.entries()) {
      const [r, t] = await timed(() =>
        occlusion(model, s.image, { target: s.label, window, stride, baseline: 0 }),
      );
      ms += t;
      tiles.push(tile(s.image, size), heat(r.map, size, true));
      r.dispose();
      bar.update(i + 1, samples.length);
    }
    const file = await g.save('05-occlusion', grid(tiles, 6));
    return [
      {
        title: 'Drop of the predicted class score',
        file,
        model: 'fashion-cnn',
        settings: `black (background-coloured) ${window}x${window} patch, stride ${stride}`,
        ms,
        command: `cnnviz occlusion ${samples.map((s) => s.name).join(' ')} -m fashion-cnn --window ${window} --stride ${stride} --baseline 0 -o out/`,
      },
    ];
  },
};
