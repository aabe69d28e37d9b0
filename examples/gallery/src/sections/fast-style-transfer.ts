import { applyStyleNetwork, loadBundledStyleNetwork } from '@cnnviz/synthesis';
import { grid, tile } from '../compose.js';
import { timed, type Figure, type Technique } from '../gallery.js';

/** 14. Fast style transfer: one forward pass of a network trained for one style. */
export const fastStyleTransferSection: Technique = {
  id: 'fast-style-transfer',
  group: 'gradients',
  lecture: 14,
  title: 'Fast style transfer',
  blurb:
    'Style transfer by optimisation needs hundreds of forward and backward passes; a feed-forward network trained once per style (Johnson et al. 2016) stylises any image in one pass. The network here was trained in this repository on Starry Night.',
  async run(g, bar) {
    const figures: Figure[] = [];
    const net = await loadBundledStyleNetwork('starry_night');
    try {
      const size = g.q(224, 512);
      const names = ['chelsea', 'astronaut', 'coffee'];
      const photos = [];
      const tiles = [];
      let ms = 0;
      for (const [i, name] of names.entries()) {
        const image = await g.image(name, size);
        const [out, t] = await timed(async () => applyStyleNetwork(net, image));
        ms += t;
        photos.push(tile(image, size));
        tiles.push(out);
        bar.update(i + 1, names.length);
      }
      figures.push({
        title: 'Photos, and below them stylised in one forward pass each',
        file: await g.save('14-fast-style-transfer', grid([...photos, ...tiles], names.length)),
        model: 'bundled style network (Starry Night)',
        settings: `${size} px, ${names.length} images, ${Math.round(ms / names.length)} ms per image`,
        command: `API: applyStyleNetwork(await loadBundledStyleNetwork('starry_night'), image)  // @cnnviz/synthesis; image [H,W,3] in 0..1`,
        ms,
      });
    } finally {
      net.dispose();
    }
    return figures;
  },
};
