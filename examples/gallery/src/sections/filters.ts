import { filterGrid, visualizeFilters } from '@cnnviz/attribution';
import { timed, type Figure, type Technique } from '../gallery.js';

/** 1. First-layer weights as pictures; deeper weights channel by channel. */
export const filtersSection: Technique = {
  id: 'filters',
  group: 'activations',
  lecture: 1,
  title: 'Filters',
  blurb:
    'First-layer convolution weights drawn as small colour images: oriented edges, colour blobs and corners. Higher-layer weights are shown channel by channel as grey tiles, harder to read (one row per filter).',
  async run(g, bar) {
    const figures: Figure[] = [];
    const mobilenet = await g.mobilenet(g.q(160, 224));
    const [rgbGrid, t1] = await timed(async () => {
      const tiles = visualizeFilters(mobilenet, 'Conv1');
      const out = filterGrid(tiles, { scale: 16, pad: 2, cols: 8 });
      tiles.dispose();
      return out;
    });
    figures.push({
      title: 'First layer of MobileNetV2 (32 RGB filters, 3x3)',
      file: await g.save('01-filters-mobilenet-conv1', rgbGrid),
      model: 'mobilenet-v2 (ImageNet)',
      layer: 'Conv1',
      settings: 'each filter scaled to 0..1, 16 px per weight',
      ms: t1,
      command: 'cnnviz filters -m mobilenet-v2 --layer Conv1 -o filters.png',
    });
    rgbGrid.dispose();
    bar.update(1, 3);

    const fashion = await g.fashion();
    const first = fashion.layers.find((l) => /conv/i.test(l.kind))!.name;
    const [greyGrid, t2] = await timed(async () => {
      const tiles = visualizeFilters(fashion, first);
      const out = filterGrid(tiles, { scale: 16, pad: 2, cols: 8 });
      tiles.dispose();
      return out;
    });
    figures.push({
      title: 'First layer of the Fashion-MNIST CNN (grey input)',
      file: await g.save('01b-filters-fashion-first', greyGrid),
      model: 'fashion-cnn',
      layer: first,
      settings: 'one grey tile per filter, 16 px per weight',
      ms: t2,
      command: `cnnviz filters -m fashion-cnn --layer ${first} -o filters.png`,
    });
    greyGrid.dispose();
    bar.update(2, 3);

    const second = fashion.layers.filter((l) => /conv/i.test(l.kind))[1]?.name;
    if (second) {
      const channels = g.q(8, 16);
      const [deep, t3] = await timed(async () => {
        const tiles = visualizeFilters(fashion, second, { maxFilters: g.q(8, 16), maxChannels: channels });
        const out = filterGrid(tiles, { scale: 10, pad: 2, cols: channels });
        tiles.dispose();
        return out;
      });
      figures.push({
        title: 'A higher layer, channel by channel',
        file: await g.save('01c-filters-fashion-second', deep),
        model: 'fashion-cnn',
        layer: second,
        settings: `first ${g.q(8, 16)} filters × first ${channels} input channels, one row per filter`,
        ms: t3,
        command: `cnnviz filters -m fashion-cnn --layer ${second} --max-filters ${g.q(8, 16)} --max-channels ${channels} -o filters.png`,
      });
      deep.dispose();
    }
    bar.update(3, 3);
    return figures;
  },
};
