import { applyStyleNetwork, loadBundledStyleNetwork, type BundledStyle } from '@cnnviz/synthesis';
import { grid, tile } from '../compose.js';
import { timed, type Figure, type Technique } from '../gallery.js';

const STYLES: { name: BundledStyle; title: string }[] = [
  { name: 'starry_night', title: 'Starry Night' },
  { name: 'scream', title: 'The Scream' },
];

/** 14. Fast style transfer: one forward pass of a network trained for one style. */
export const fastStyleTransferSection: Technique = {
  id: 'fast-style-transfer',
  group: 'gradients',
  lecture: 14,
  title: 'Fast style transfer',
  blurb:
    'Style transfer by optimisation needs hundreds of forward and backward passes; a feed-forward network trained once per style (Johnson et al. 2016) stylises any image in one pass. The two networks here were trained in this repository on Starry Night and The Scream, on photographs none of these three is among.',
  async run(g, bar) {
    const size = g.q(224, 512);
    const names = ['chelsea', 'astronaut', 'coffee'];
    const images = [];
    for (const name of names) images.push(await g.image(name, size));
    const photos = images.map((im) => tile(im, size));
    const rows = [];
    let ms = 0;
    for (const [s, style] of STYLES.entries()) {
      const net = await loadBundledStyleNetwork(style.name);
      try {
        for (const [i, image] of images.entries()) {
          const [out, t] = await timed(async () => applyStyleNetwork(net, image));
          ms += t;
          rows.push(out);
          bar.update(s * names.length + i + 1, STYLES.length * names.length);
        }
      } finally {
        net.dispose();
      }
    }
    const runs = STYLES.length * names.length;
    return [
      {
        title: `Photos, and below them stylised in one forward pass each: ${STYLES.map((s) => s.title).join(', then ')}`,
        file: await g.save('14-fast-style-transfer', grid([...photos, ...rows], names.length)),
        model: `bundled style networks (${STYLES.map((s) => s.title).join(', ')})`,
        settings: `${size} px, ${names.length} images x ${STYLES.length} styles, ${Math.round(ms / runs)} ms per image`,
        command: `API: applyStyleNetwork(await loadBundledStyleNetwork('starry_night' | 'scream'), image)  // @cnnviz/synthesis; image [H,W,3] in 0..1`,
        ms,
      } satisfies Figure,
    ];
  },
};
