import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { filterGrid, visualizeFilters } from './visualize-filters.js';
import { expectClose, expectNoLeak, seeded, tinyNet } from './test-nets.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const K1 = seeded(2 * 2 * 3 * 2, 51); // [2,2,3,2]
const K2 = seeded(2 * 2 * 2 * 3, 52); // [2,2,2,3]
const net = () =>
  tinyNet(
    [5, 5, 3],
    [
      { type: 'conv', name: 'conv1', shape: [2, 2, 3, 2], kernel: K1, bias: [0, 0] },
      { type: 'relu', name: 'relu1' },
      { type: 'conv', name: 'conv2', shape: [2, 2, 2, 3], kernel: K2, bias: [0, 0, 0] },
      { type: 'flatten', name: 'flat' },
      { type: 'dense', name: 'fc', shape: [27, 2], kernel: seeded(54, 53), bias: [0, 0] },
    ],
  );

describe('visualizeFilters', () => {
  it('first layer: one RGB tile per filter, each filter min-max scaled on its own', async () => {
    const model = net();
    const tiles = visualizeFilters(model, 'conv1');
    expect(tiles.shape).toEqual([2, 2, 2, 3]);
    const data = await tiles.data();
    for (let o = 0; o < 2; o++) {
      const w = Array.from({ length: 12 }, (_, i) => K1[i * 2 + o]); // (y, x, c) order for filter o
      const lo = Math.min(...w);
      const hi = Math.max(...w);
      expectClose(
        data.slice(o * 12, o * 12 + 12),
        w.map((v) => (v - lo) / (hi - lo)),
        1e-6,
      );
    }
    tiles.dispose();
    model.dispose();
  });

  it('deeper layer: one grey tile per filter and input channel, filter-major', async () => {
    const model = net();
    const tiles = visualizeFilters(model, 'conv2', { normalize: 'tile' });
    expect(tiles.shape).toEqual([6, 2, 2, 3]);
    const data = await tiles.data();
    for (let o = 0; o < 3; o++) {
      for (let c = 0; c < 2; c++) {
        const w = Array.from({ length: 4 }, (_, p) => K2[(p * 2 + c) * 3 + o]);
        const lo = Math.min(...w);
        const hi = Math.max(...w);
        const tile = data.slice((o * 2 + c) * 12, (o * 2 + c + 1) * 12);
        // grey: the three channels of each pixel are equal
        expectClose(
          Array.from({ length: 4 }, (_, p) => tile[p * 3 + 1]),
          w.map((v) => (v - lo) / (hi - lo)),
          1e-6,
        );
        expectClose(
          Array.from({ length: 4 }, (_, p) => tile[p * 3]),
          Array.from({ length: 4 }, (_, p) => tile[p * 3 + 2]),
          0,
        );
      }
    }
    const limited = visualizeFilters(model, 'conv2', { maxFilters: 2, maxChannels: 1 });
    expect(limited.shape).toEqual([2, 2, 2, 3]);
    tiles.dispose();
    limited.dispose();
    model.dispose();
  });

  it('filterGrid lays the tiles out, enlarged; errors for layers without kernels; no leaks', async () => {
    const model = net();
    await expectNoLeak(() => {
      const tiles = visualizeFilters(model, 'conv2');
      const grid = filterGrid(tiles, { cols: 2, scale: 3, pad: 1 });
      // 6 tiles in 2 columns → 3 rows of 6x6 tiles with 1-pixel borders.
      expect(grid.shape).toEqual([3 * 6 + 4, 2 * 6 + 3, 3]);
      tf.dispose([tiles, grid]);
    });
    expect(() => visualizeFilters(model, 'fc')).toThrow(expect.objectContaining({ code: 'BAD_LAYER' }));
    expect(() => visualizeFilters(model, 'relu1')).toThrow(expect.objectContaining({ code: 'BAD_LAYER' }));
    expect(() => visualizeFilters(model, 'conv3')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_LAYER' }),
    );
    const noWeights = { ...model, getWeights: undefined };
    expect(() => visualizeFilters(noWeights, 'conv1')).toThrow(
      expect.objectContaining({ code: 'UNSUPPORTED_OP' }),
    );
    model.dispose();
  });
});
