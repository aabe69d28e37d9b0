import { defaultCamLayer, gradCam, gradCamPlusPlus } from '@cnnviz/attribution';
import { grid, overlayOn, tile } from '../compose.js';
import { timed, type Technique } from '../gallery.js';
import { fashionSamples } from './samples.js';

/** + Grad-CAM and Grad-CAM++: class evidence at a convolution layer's resolution. */
export const gradCamSection: Technique = {
  id: 'grad-cam',
  group: 'gradients',
  title: 'Grad-CAM and Grad-CAM++',
  blurb:
    "A convolution layer's channels weighted by the mean gradient of the class score, positive part: where the evidence for the class is (Selvaraju et al. 2017). Grad-CAM++ weights by higher-order terms (Chattopadhay et al. 2018).",
  async run(g, bar) {
    const { model, samples } = await fashionSamples(g);
    const layer = defaultCamLayer(model)!;
    const size = 112;
    const tiles = [];
    let ms = 0;
    for (const [i, s] of samples.entries()) {
      const [cam, t1] = await timed(() => gradCam(model, s.image, { target: s.label, layer }));
      const [pp, t2] = await timed(() => gradCamPlusPlus(model, s.image, { target: s.label, layer }));
      ms += t1 + t2;
      tiles.push(tile(s.image, size), overlayOn(s.image, cam.map, size), overlayOn(s.image, pp.map, size));
      cam.dispose();
      pp.dispose();
      bar.update(i + 1, samples.length);
    }
    const file = await g.save('06d-grad-cam', grid(tiles, 6));
    return [
      {
        title: 'Image | Grad-CAM | Grad-CAM++ of the predicted class',
        file,
        model: 'fashion-cnn',
        layer,
        settings: 'map upsampled bilinearly, jet colours over the image',
        ms,
        command: `cnnviz gradcam ${samples.map((s) => s.name).join(' ')} -m fashion-cnn --layer ${layer} --view side -o out/\ncnnviz gradcam ${samples.map((s) => s.name).join(' ')} -m fashion-cnn --layer ${layer} --plus-plus --view side -o out/`,
      },
    ];
  },
};
